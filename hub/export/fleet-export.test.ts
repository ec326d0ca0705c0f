// Exports of jobs and nodes (what the hub holds now) read back by independent readers, and
// their incremental cursors: only what changed since the last run, deletes as tombstones, under
// the caller's row filter, and a cursor one hub wrote read by another hub of the group (the same
// deltas under the same (epoch, seq)), or refused by a hub that did not hear the changes (cursor too old).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import avro from 'avsc';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobDelta, testJob, testNode } from '../../shared/delta/testdata/fleet-fixtures.js';
import { wrapObject, type Job } from '../../shared/model/index.js';
import { FleetState } from '../fleet/index.js';
import { HistoryEngine } from '../history/index.js';
import { RowFilter } from '../policy/index.js';
import { ChangeJournal, ExportCursorTooOldError, exportFleet, filterFingerprint, type FleetExportFilter, type FleetExportRequest } from './index.js';
import type { ExportFormat } from './formats.js';

const T0 = Date.UTC(2026, 11, 1, 10);
const iso = (ms: number): string => new Date(ms).toISOString();
const job = (id: number, fields: Partial<Job> = {}): Job => testJob(id, { submit_time: iso(T0 + id * 1000), state: 'RUNNING', nodes: ['n1', 'n2'], name: `j,"${id}"`, ...fields });

let dir: string;
let engine: HistoryEngine;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fleet-export-'));
  engine = await HistoryEngine.open({ threads: 1, memoryLimit: '128MB' });
});
afterAll(() => engine?.close());

/** A hub's fleet state and its journal, fed the deltas given. */
function hub(): { state: FleetState; journal: ChangeJournal } {
  const state = new FleetState();
  return { state, journal: new ChangeJournal(state) };
}

async function exported(
  h: { state: FleetState; journal?: ChangeJournal },
  format: ExportFormat,
  extra: Partial<FleetExportRequest> & { filter?: FleetExportFilter } = {},
): Promise<{ rows: number; cursor: string; bytes: Buffer }> {
  const filter = extra.filter ?? {};
  const result = await exportFleet(
    { engine: async () => engine, scratchDir: join(dir, 'scratch'), state: h.state, ...(h.journal ? { journal: h.journal } : {}) },
    { kind: 'jobs', format, filter, fingerprint: filterFingerprint(filter as Record<string, unknown>), rows: RowFilter.ALL, ...extra },
  );
  return { rows: result.rows, cursor: result.cursor, bytes: await buffer(result.body) };
}

const ndjson = (b: Buffer): Record<string, unknown>[] => b.toString('utf8').trimEnd().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
const ops = (b: Buffer): string[] => ndjson(b).map((r) => `${String(r.op)} ${String(r.cluster)}/${String(r.id ?? r.name ?? '*')}`).sort();

describe('export jobs and nodes', () => {
  it('writes Parquet that an independent DuckDB reads with typed columns, and Avro that decodes against docs/schemas/jobs-export.avsc', async () => {
    const h = hub();
    h.state.apply(jobDelta([job(1), job(2, { start_time: iso(T0 + 5000), account: 'physics' }), job(3)], { snapshot: true }));
    const out = await exported(h, 'parquet');
    expect(out.rows).toBe(3);
    const file = join(dir, 'jobs.parquet');
    writeFileSync(file, out.bytes);
    const reader = await (await DuckDBInstance.create(':memory:')).connect();
    const types = Object.fromEntries((await reader.runAndReadAll(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${file}'))`)).getRowObjectsJS().map((r) => [r.column_name, r.column_type]));
    expect(types).toMatchObject({ op: 'VARCHAR', cluster: 'VARCHAR', id: 'BIGINT', submit_time: 'TIMESTAMP WITH TIME ZONE', start_time: 'TIMESTAMP WITH TIME ZONE', nodes: 'VARCHAR[]', cpus: 'INTEGER', memory_mb: 'BIGINT' });
    const rows = (await reader.runAndReadAll(`SELECT id, epoch_ms(submit_time) AS submit, start_time IS NULL AS unstarted, nodes, name, account FROM read_parquet('${file}') ORDER BY id`)).getRowObjectsJS();
    expect(rows).toEqual([
      { id: 1n, submit: BigInt(T0 + 1000), unstarted: true, nodes: ['n1', 'n2'], name: 'j,"1"', account: 'research' },
      { id: 2n, submit: BigInt(T0 + 2000), unstarted: false, nodes: ['n1', 'n2'], name: 'j,"2"', account: 'physics' },
      { id: 3n, submit: BigInt(T0 + 3000), unstarted: true, nodes: ['n1', 'n2'], name: 'j,"3"', account: 'research' },
    ]);
    reader.closeSync();

    const published = JSON.parse(readFileSync(new URL('../../docs/schemas/jobs-export.avsc', import.meta.url), 'utf8')) as avro.Schema;
    const avroFile = join(dir, 'jobs.avro');
    writeFileSync(avroFile, (await exported(h, 'avro')).bytes);
    const records: Record<string, unknown>[] = [];
    for await (const r of avro.createFileDecoder(avroFile, { readerSchema: published })) records.push(r as Record<string, unknown>);
    expect(records.map((r) => [r.op, r.id, r.account, r.start_time])).toEqual([['upsert', 1, 'research', null], ['upsert', 2, 'physics', T0 + 5000], ['upsert', 3, 'research', null]]);

    const csv = (await exported(h, 'csv', { filter: { account: 'physics' } })).bytes.toString('utf8').trimEnd().split('\r\n');
    expect(csv[0]?.split(',').slice(0, 3)).toEqual(['op', 'cluster', 'id']);
    expect(csv).toHaveLength(2);
    expect(csv[1]).toContain(',"j,""2""",');
    expect(JSON.parse((await exported(h, 'json', { filter: { since: T0 + 2500 } })).bytes.toString('utf8'))).toMatchObject([{ id: 3, submit_time: iso(T0 + 3000) }]);
  });

  it('an incremental export sends only what changed since its cursor, removals as deletes, and nothing when nothing changed', async () => {
    const h = hub();
    h.state.apply(jobDelta([job(1), job(2), job(3)], { snapshot: true, epoch: 5, seq: 1 }));
    const first = await exported(h, 'ndjson');
    expect(first.rows).toBe(3);
    h.state.apply(jobDelta([job(2, { state: 'COMPLETED' }), job(4)], { epoch: 5, seq: 2, removedJobs: [3] }));
    const second = await exported(h, 'ndjson', { cursor: first.cursor });
    expect(ops(second.bytes)).toEqual(['delete a/3', 'upsert a/2', 'upsert a/4']);
    expect(second.rows).toBe(3);
    const deleted = ndjson(second.bytes).find((r) => r.op === 'delete')!;
    expect(deleted).toMatchObject({ cluster: 'a', id: 3, user: null, state: null });
    const third = await exported(h, 'ndjson', { cursor: second.cursor });
    expect(third.rows).toBe(0);
    expect(third.bytes.length).toBe(0);
    // A new epoch (the agent restarted from a snapshot) orders after the old one: only its changes.
    h.state.apply(jobDelta([job(1), job(2, { state: 'COMPLETED' }), job(4), job(5)], { snapshot: true, epoch: 9, seq: 1 }));
    expect(ops((await exported(h, 'ndjson', { cursor: third.cursor })).bytes)).toEqual(['upsert a/5']);
  });

  it('a cursor written by one hub is read by another hub of the group; a hub that did not hear the changes refuses it (a full export is needed)', async () => {
    const a = hub();
    const b = hub();
    const deltas = [jobDelta([job(1), job(2)], { snapshot: true, epoch: 7, seq: 1 }), jobDelta([job(3)], { epoch: 7, seq: 2 })];
    for (const d of deltas) {
      a.state.apply(d);
      b.state.apply(d);
    }
    const onA = await exported(a, 'ndjson');
    const next = jobDelta([job(4)], { epoch: 7, seq: 3, removedJobs: [1] });
    a.state.apply(next);
    b.state.apply(next);
    expect(ops((await exported(b, 'ndjson', { cursor: onA.cursor })).bytes)).toEqual(['delete a/1', 'upsert a/4']);
    // Hub c started (and loaded its state) after seq 2: it cannot say what changed since then.
    const c = { state: new FleetState() } as { state: FleetState; journal?: ChangeJournal };
    for (const d of [...deltas, next]) c.state.apply(d, { notify: false });
    c.journal = new ChangeJournal(c.state);
    // Sending cluster a's rows as changes would lose the delete of job 1: nothing is sent.
    await expect(exported(c, 'ndjson', { cursor: onA.cursor })).rejects.toThrow(ExportCursorTooOldError);
    await expect(exported(c, 'ndjson', { cursor: onA.cursor })).rejects.toThrow(/^cursor too old: full export needed .* in a:/);
    // The full export that replaces it, and its cursor, from which c is exact again.
    const full = await exported(c, 'ndjson');
    expect(ops(full.bytes)).toEqual(['upsert a/2', 'upsert a/3', 'upsert a/4']);
    c.state.apply(jobDelta([], { epoch: 7, seq: 4, removedJobs: [2] }));
    expect(ops((await exported(c, 'ndjson', { cursor: full.cursor })).bytes)).toEqual(['delete a/2']);
    // A hub behind the cursor (replication lag) sends nothing and keeps the cursor's position.
    const behind = hub();
    behind.state.apply(deltas[0]);
    const lagging = await exported(behind, 'ndjson', { cursor: (await exported(b, 'ndjson', { cursor: onA.cursor })).cursor });
    expect(lagging.rows).toBe(0);
    expect(ops((await exported(b, 'ndjson', { cursor: lagging.cursor })).bytes)).toEqual([]);
  });

  it('a tenant gets its own rows and its own deletes only; a job that leaves the --state filter is a delete', async () => {
    const h = hub();
    h.state.apply(jobDelta([job(1), job(2, { account: 'physics' })], { snapshot: true, epoch: 3, seq: 1 }));
    const research = RowFilter.of([{ account: ['research'] }]);
    const first = await exported(h, 'ndjson', { rows: research, filter: { state: 'RUNNING' } });
    expect(ops(first.bytes)).toEqual(['upsert a/1']);
    h.state.apply(jobDelta([job(1, { state: 'COMPLETED' })], { epoch: 3, seq: 2, removedJobs: [2] }));
    expect(ops((await exported(h, 'ndjson', { rows: research, filter: { state: 'RUNNING' }, cursor: first.cursor })).bytes)).toEqual(['delete a/1']);
    // Under another filter the cursor is refused, not misread.
    await expect(exported(h, 'ndjson', { rows: research, cursor: first.cursor })).rejects.toThrow(/cursor: made with other filters/);
    await expect(exported(h, 'ndjson', { cursor: 'not-a-cursor' })).rejects.toThrow(/cursor: not a cursor this hub wrote/);
  });

  it('exports nodes (a tenant gets its view), and refuses filters nodes do not have', async () => {
    const h = hub();
    h.state.apply({ ...jobDelta([], { snapshot: true, epoch: 2, seq: 1 }), upserts: [wrapObject('node', testNode('n1', { partitions: ['batch'], boot_time: iso(T0) })), wrapObject('node', testNode('n2'))] });
    const out = await exportFleet(
      { engine: async () => engine, scratchDir: join(dir, 'scratch'), state: h.state, journal: h.journal },
      { kind: 'nodes', format: 'ndjson', filter: { partition: 'batch' }, fingerprint: 'f', rows: RowFilter.ALL, view: (n) => ({ ...n, address: '' }) },
    );
    expect(ndjson(await buffer(out.body))).toMatchObject([{ op: 'upsert', cluster: 'a', name: 'n1', partitions: ['batch'], boot_time: iso(T0), address: '' }]);
    await expect(exportFleet({ engine: async () => engine, scratchDir: dir, state: h.state }, { kind: 'nodes', format: 'csv', filter: { since: T0 }, fingerprint: 'f', rows: RowFilter.ALL })).rejects.toThrow(
      /nodes have no time, user or account to filter by/,
    );
  });
});
