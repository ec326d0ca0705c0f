// Exports of the job history read back by independent readers: Parquet by a separate DuckDB
// (types and counts), Avro by avsc against the published schema file, csv/json/ndjson parsed;
// incremental exports through the cursor (only new or changed rows, tombstones for removed
// days, an overlapping rewrite is no change); bad cursors refused.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import avro from 'avsc';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HistoryJob } from '../../shared/history/index.js';
import { HistoryEngine, HistoryStore } from '../history/index.js';
import { exportHistory, filterFingerprint, HISTORY_AVRO_SCHEMA, type ExportFormat, type HistoryExportRequest } from './index.js';

const T0 = Date.UTC(2026, 11, 1, 10);
const DAY = 86_400_000;
const run = (job_id: number, user: string, account: string, end = T0 + 3_600_000, extra: Partial<HistoryJob> = {}): HistoryJob => ({
  cluster: 'east', job_id, submit_time: T0, start_time: T0 + 60_000, end_time: end, name: 'n,"q"', user, account,
  partition: 'batch', qos: 'normal', state: 'COMPLETED', exit_code: 0, exit_signal: 0, alloc_tres: 'cpu=2,node=1',
  cpus: 2, gpus: 0, memory_mb: 100, node_count: 2, node_list: 'n[1-2]', nodes: ['n1', 'n2'], ...extra,
});

let dir: string;
let engine: HistoryEngine;
let store: HistoryStore;
let clock = T0 + 10 * DAY;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'history-export-'));
  engine = await HistoryEngine.open({ threads: 1, memoryLimit: '128MB' });
  store = new HistoryStore({ engine, fence: { owns: () => true }, now: () => clock }, { dir });
  await store.upsert([run(1, 'alice', 'research'), run(2, 'bob', 'physics', T0 + DAY), run(3, 'carol', 'research', T0 + 2 * DAY, { start_time: null })]);
});

afterAll(() => engine?.close());

async function exported(format: ExportFormat, extra: Partial<HistoryExportRequest> = {}): Promise<{ rows: number; cursor: string; bytes: Buffer }> {
  const result = await exportHistory(
    { engine, store, scratchDir: join(dir, 'scratch') },
    { format, filter: {}, fingerprint: filterFingerprint({}), rows: null, ...extra },
  );
  return { rows: result.rows, cursor: result.cursor, bytes: await buffer(result.body) };
}

describe('history export', () => {
  it('writes Parquet that an independent DuckDB reads with typed columns and the right count', async () => {
    const out = await exported('parquet');
    expect(out.rows).toBe(3);
    const file = join(dir, 'out.parquet');
    writeFileSync(file, out.bytes);
    const reader = await (await DuckDBInstance.create(':memory:')).connect();
    const types = await reader.runAndReadAll(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${file}'))`);
    const typeOf = Object.fromEntries(types.getRowObjectsJS().map((r) => [r.column_name, r.column_type]));
    expect(typeOf).toMatchObject({ op: 'VARCHAR', cluster: 'VARCHAR', job_id: 'BIGINT', submit_time: 'TIMESTAMP WITH TIME ZONE', start_time: 'TIMESTAMP WITH TIME ZONE', exit_code: 'INTEGER', memory_mb: 'BIGINT', nodes: 'VARCHAR[]', written_at: 'TIMESTAMP WITH TIME ZONE', deleted_day: 'DATE' });
    const rows = await reader.runAndReadAll(`SELECT job_id, epoch_ms(end_time) AS end_ms, start_time IS NULL AS unstarted, nodes, name FROM read_parquet('${file}') ORDER BY job_id`);
    expect(rows.getRowObjectsJS()).toEqual([
      { job_id: 1n, end_ms: BigInt(T0 + 3_600_000), unstarted: false, nodes: ['n1', 'n2'], name: 'n,"q"' },
      { job_id: 2n, end_ms: BigInt(T0 + DAY), unstarted: false, nodes: ['n1', 'n2'], name: 'n,"q"' },
      { job_id: 3n, end_ms: BigInt(T0 + 2 * DAY), unstarted: true, nodes: ['n1', 'n2'], name: 'n,"q"' },
    ]);
    reader.closeSync();
  });

  it('a Parquet export binds the caller\'s filters (a list, a time, a cluster) and the cursor\'s bound, and holds only the matching rows', async () => {
    const readBack = async (bytes: Buffer): Promise<unknown[]> => {
      const file = join(dir, `filtered-${Math.random().toString(16).slice(2)}.parquet`);
      writeFileSync(file, bytes);
      const reader = await (await DuckDBInstance.create(':memory:')).connect();
      const rows = (await reader.runAndReadAll(`SELECT op, job_id, "user" FROM read_parquet('${file}') ORDER BY job_id`)).getRowObjectsJS();
      reader.closeSync();
      return rows;
    };
    const research = await exported('parquet', { rows: [{ account: ['research'] }] });
    expect(research.rows).toBe(2);
    expect(await readBack(research.bytes)).toEqual([{ op: 'upsert', job_id: 1n, user: 'alice' }, { op: 'upsert', job_id: 3n, user: 'carol' }]);
    const since = await exported('parquet', { filter: { cluster: 'east', since: T0 + DAY }, fingerprint: filterFingerprint({ cluster: 'east', since: T0 + DAY }) });
    expect(await readBack(since.bytes)).toEqual([{ op: 'upsert', job_id: 2n, user: 'bob' }, { op: 'upsert', job_id: 3n, user: 'carol' }]);
    // Nothing written since the cursor: an empty file with the columns.
    expect(await readBack((await exported('parquet', { cursor: since.cursor, filter: { cluster: 'east', since: T0 + DAY }, fingerprint: filterFingerprint({ cluster: 'east', since: T0 + DAY }) })).bytes)).toEqual([]);
  });

  it('writes Avro that decodes against the published schema file (docs/schemas/history-export.avsc)', async () => {
    const published = JSON.parse(readFileSync(new URL('../../docs/schemas/history-export.avsc', import.meta.url), 'utf8')) as unknown;
    expect(published).toEqual(HISTORY_AVRO_SCHEMA);
    const file = join(dir, 'out.avro');
    writeFileSync(file, (await exported('avro')).bytes);
    const records: Record<string, unknown>[] = [];
    const decoder = avro.createFileDecoder(file, { readerSchema: published as avro.Schema });
    for await (const r of decoder) records.push(r as Record<string, unknown>);
    expect(records.map((r) => [r.op, r.job_id, r.user, r.start_time])).toEqual([
      ['upsert', 1, 'alice', T0 + 60_000],
      ['upsert', 2, 'bob', T0 + 60_000],
      ['upsert', 3, 'carol', null],
    ].sort((a, b) => (a[1] as number) - (b[1] as number)));
  });

  it('writes csv (RFC 4180 quoting), ndjson and json with ISO-8601 times under the caller\'s row filter', async () => {
    const rows = [{ account: ['research'] }];
    const csv = (await exported('csv', { rows })).bytes.toString('utf8').trimEnd().split('\r\n');
    expect(csv[0]?.split(',').slice(0, 4)).toEqual(['op', 'cluster', 'job_id', 'submit_time']);
    expect(csv.length).toBe(3);
    expect(csv[1]).toContain(',"n,""q""",');
    expect(csv[1]).toContain(',"n1,n2",');
    const nd = (await exported('ndjson', { rows })).bytes.toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(nd.map((r) => r.user).sort()).toEqual(['alice', 'carol']);
    expect(nd.find((r) => r.user === 'alice')?.end_time).toBe(new Date(T0 + 3_600_000).toISOString());
    const json = JSON.parse((await exported('json', { rows: [] })).bytes.toString('utf8')) as unknown[];
    expect(json).toEqual([]);
  });

  it('exports incrementally: a second run only the new and changed rows, an overlapping rewrite nothing, removed days as tombstones', async () => {
    const fp = filterFingerprint({ cluster: 'east' });
    const first = await exported('ndjson', { filter: { cluster: 'east' }, fingerprint: fp });
    expect(first.rows).toBe(3);
    clock += 1000;
    const again = await exported('ndjson', { filter: { cluster: 'east' }, fingerprint: fp, cursor: first.cursor });
    expect([again.rows, again.bytes.length]).toEqual([0, 0]);
    clock += 1000;
    // The same runs again (an overlapping backfill), one changed, one new.
    await store.upsert([run(1, 'alice', 'research'), run(2, 'bob', 'physics', T0 + DAY, { state: 'FAILED', exit_code: 1 }), run(4, 'dave', 'physics')]);
    clock += 1000;
    const next = await exported('ndjson', { filter: { cluster: 'east' }, fingerprint: fp, cursor: again.cursor });
    const lines = next.bytes.toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.job_id, l.state]).sort()).toEqual([[2, 'FAILED'], [4, 'COMPLETED']]);
    expect(next.rows).toBe(2);
    // Retention drops the day of job 1 and 4: a tombstone row names the cluster and the day.
    clock += 1000;
    expect(await store.expire(8, T0 + 9.5 * DAY)).toBe(1);
    clock += 1000;
    const after = await exported('ndjson', { filter: { cluster: 'east' }, fingerprint: fp, cursor: next.cursor });
    expect(after.bytes.toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ op: 'delete', cluster: 'east', deleted_day: '2026-12-01', job_id: null }),
    ]);
    // The same tombstone in Parquet (its values reach the file as bound variables).
    const file = join(dir, 'tombstone.parquet');
    writeFileSync(file, (await exported('parquet', { filter: { cluster: 'east' }, fingerprint: fp, cursor: next.cursor })).bytes);
    const reader = await (await DuckDBInstance.create(':memory:')).connect();
    expect((await reader.runAndReadAll(`SELECT op, cluster, CAST(deleted_day AS VARCHAR) AS day, job_id FROM read_parquet('${file}')`)).getRowObjectsJS()).toEqual([{ op: 'delete', cluster: 'east', day: '2026-12-01', job_id: null }]);
    reader.closeSync();
  });

  it('pseudonymised (GDPR): every format carries the pseudonym instead of the user name, the rest unchanged', async () => {
    const pseudonymize = (u: string): string => `u-${Buffer.from(u).toString('hex')}`;
    const plain = (await exported('ndjson')).bytes.toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { job_id: number; user: string | null; account: string | null });
    const users = [...new Set(plain.map((r) => r.user).filter((u): u is string => u !== null))];
    expect(users.length).toBeGreaterThan(1);
    // Text formats read as text (Avro goes through the same rows, deflated); Parquet is written by DuckDB.
    for (const format of ['csv', 'ndjson', 'json'] as const) {
      const text = (await exported(format, { pseudonymize })).bytes.toString('utf8');
      for (const name of users) expect(text, format).not.toContain(name);
      for (const name of users) expect(text, format).toContain(pseudonymize(name));
    }
    const file = join(dir, 'pseudonyms.parquet');
    writeFileSync(file, (await exported('parquet', { pseudonymize })).bytes);
    const reader = await (await DuckDBInstance.create(':memory:')).connect();
    const rows = await reader.runAndReadAll(`SELECT job_id, "user", account FROM read_parquet('${file}') WHERE op = 'upsert' ORDER BY job_id`);
    const want = plain.filter((r) => r.user !== null).map((r) => ({ job_id: BigInt(r.job_id), user: pseudonymize(r.user!), account: r.account })).sort((a, b) => Number(a.job_id - b.job_id));
    expect(rows.getRowObjectsJS()).toEqual(want);
    reader.closeSync();
  });

  it('refuses a cursor it did not write, one of another filter, and one of another export', async () => {
    const full = await exported('csv');
    await expect(exported('csv', { cursor: 'not a cursor' })).rejects.toThrow(/cursor: not a cursor this hub wrote/);
    await expect(exported('csv', { cursor: Buffer.from('{"v":1,"k":"history","t":-5,"f":"x"}').toString('base64url') })).rejects.toThrow(/not a cursor/);
    await expect(exported('csv', { cursor: full.cursor, filter: { user: 'bob' }, fingerprint: filterFingerprint({ user: 'bob' }) })).rejects.toThrow(/made with other filters/);
    await expect(exported('csv', { cursor: Buffer.from('{"v":1,"k":"audit","t":5,"f":"x"}').toString('base64url') })).rejects.toThrow(/made for an export of audit/);
  });
});
