// Exports of the append-only logs: fleet events (row filter by cluster and account, occurred_at
// window, incremental per cluster) and this hub's audit chain (tenant filter, incremental per hub
// id, so a cursor passed between the hubs of a group keeps each hub's own position).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import avro from 'avsc';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/logging/index.js';
import { AuditLog, auditConfigSchema } from '../audit/index.js';
import { EventLog } from '../events/index.js';
import { HistoryEngine } from '../history/index.js';
import { RowFilter } from '../policy/index.js';
import { decodeCursor, ExportCursorTooOldError, exportAudit, exportEvents } from './index.js';

const T0 = Date.UTC(2026, 11, 1, 10);
let dir: string;
let engine: HistoryEngine;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'log-export-'));
  engine = await HistoryEngine.open({ threads: 1, memoryLimit: '128MB' });
});
afterAll(() => engine?.close());

const deps = () => ({ engine: async () => engine, scratchDir: join(dir, 'scratch') });
const lines = async (body: NodeJS.ReadableStream): Promise<Record<string, unknown>[]> =>
  (await buffer(body)).toString('utf8').trimEnd().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
const event = (id: string, at: number, attributes: Record<string, string> = {}) => ({ id, cluster: '', type: 'controller_failover', severity: 'warning', message: `m ${id}`, occurred_at: new Date(at).toISOString(), attributes });

describe('export events', () => {
  it('exports what the caller may see, bounded by occurred_at, then only the events added since the cursor', async () => {
    const events = new EventLog({}, { logger: silentLogger() });
    events.record('east', [event('e1', T0, { account: 'research' }), event('e2', T0 + 1000, { account: 'physics' }), event('e3', T0 + 2000)]);
    events.record('west', [event('w1', T0 + 500)]);
    const research = RowFilter.of([{ account: ['research'] }]);
    const allow = (e: object): boolean => research.allows('event', e);
    const first = await exportEvents({ ...deps(), events }, { format: 'ndjson', fingerprint: 'f', allow });
    expect((await lines(first.body)).map((e) => e.id)).toEqual(['e1', 'e3', 'w1']);
    expect(first.rows).toBe(3);
    const window = await exportEvents({ ...deps(), events }, { format: 'ndjson', fingerprint: 'g', since: T0 + 500, until: T0 + 2000 });
    expect((await lines(window.body)).map((e) => e.id)).toEqual(['e2', 'w1']);
    events.record('east', [event('e4', T0 + 3000, { account: 'research' }), event('e5', T0 + 3000, { account: 'physics' })]);
    events.record('west', [event('w0', T0 + 100)]); // it occurred before what the first export sent (an agent's clock went back), but arrived after it
    const second = await exportEvents({ ...deps(), events }, { format: 'ndjson', fingerprint: 'f', allow, cursor: first.cursor });
    expect((await lines(second.body)).map((e) => e.id)).toEqual(['e4', 'w0']);
    expect((await lines((await exportEvents({ ...deps(), events }, { format: 'ndjson', fingerprint: 'f', allow, cursor: second.cursor })).body))).toEqual([]);

    const file = join(dir, 'events.parquet');
    writeFileSync(file, await buffer((await exportEvents({ ...deps(), events }, { format: 'parquet', fingerprint: 'h' })).body));
    const reader = await (await DuckDBInstance.create(':memory:')).connect();
    const rows = (await reader.runAndReadAll(`SELECT id, typeof(occurred_at) AS t, attributes['account'] AS account FROM read_parquet('${file}') WHERE id = 'e1'`)).getRowObjectsJS();
    expect(rows).toEqual([{ id: 'e1', t: 'TIMESTAMP WITH TIME ZONE', account: 'research' }]);
    reader.closeSync();
  });
});

describe('incremental events export: exactly once, whatever occurred_at says', () => {
  const ids = async (events: EventLog, cursor: string | undefined): Promise<{ ids: unknown[]; cursor: string }> => {
    const out = await exportEvents({ ...deps(), events }, { format: 'ndjson', fingerprint: 'f', ...(cursor !== undefined ? { cursor } : {}) });
    return { ids: (await lines(out.body)).map((e) => e.id), cursor: out.cursor };
  };

  it('exports events of the same millisecond on both sides of an export each exactly once, across a restart of the log', async () => {
    const logDir = mkdtempSync(join(dir, 'events-'));
    let clock = T0;
    let events = new EventLog({ dataDir: logDir, hubId: 'hub-a' }, { logger: silentLogger(), clock: () => clock });
    // Agents' events come in deltas; alerts and quota actions are the hub's own.
    events.record('east', [event('m', T0), event('z', T0)], { epoch: 7, seq: 1 });
    events.record('east', [event('own-1', T0)]);
    const first = await ids(events, undefined);
    expect(first.ids).toEqual(['m', 'z', 'own-1']);
    // The same millisecond again, arriving after the export, with ids that sort before and after.
    events.record('east', [event('a', T0), event('y', T0)], { epoch: 7, seq: 2 });
    events.record('east', [event('own-2', T0)]);
    const second = await ids(events, first.cursor);
    expect(second.ids).toEqual(['a', 'y', 'own-2']);
    expect((await ids(events, second.cursor)).ids).toEqual([]);

    // The positions are kept in events.log: a restarted hub still sends only what arrived since.
    events.close();
    clock = T0 - 60_000; // the hub's clock went back over the restart: its own events still come after
    events = new EventLog({ dataDir: logDir, hubId: 'hub-a' }, { logger: silentLogger(), clock: () => clock });
    expect((await ids(events, second.cursor)).ids).toEqual([]);
    events.record('east', [event('b', T0)], { epoch: 7, seq: 3 });
    events.record('east', [event('own-3', T0)]);
    const third = await ids(events, second.cursor);
    expect(third.ids).toEqual(['b', 'own-3']);
    expect((await ids(events, third.cursor)).ids).toEqual([]);
    events.close();
  });

  it('reads a cursor of the earlier form (the newest occurred_at per cluster) and upgrades it', async () => {
    const events = new EventLog({ hubId: 'hub-a' }, { logger: silentLogger() });
    events.record('east', [event('e1', T0 - 1000), event('e2', T0)], { epoch: 7, seq: 1 });
    const old = Buffer.from(JSON.stringify({ v: 1, k: 'events', t: 0, f: 'f', p: { east: [T0] } })).toString('base64url');
    events.record('east', [event('e3', T0)], { epoch: 7, seq: 2 }); // the same millisecond as the old mark, arrived after it
    events.record('west', [event('w1', T0 - 5000)], { epoch: 3, seq: 9 });
    // That millisecond is sent again (e2, once more: at least once), nothing before it of a cluster the cursor names.
    const upgraded = await ids(events, old);
    expect(upgraded.ids).toEqual(['e2', 'e3', 'w1']);
    expect(decodeCursor(upgraded.cursor, 'events', 'f')).toMatchObject({ version: 2, positions: { east: [7, 2], west: [3, 9] } });
    expect((await ids(events, upgraded.cursor)).ids).toEqual([]);
    events.record('east', [event('e4', T0 - 9000)], { epoch: 8, seq: 1 });
    expect((await ids(events, upgraded.cursor)).ids).toEqual(['e4']);
  });
});

describe('incremental events export: the log keeps the newest events only', () => {
  const ids = async (events: EventLog, cursor: string | undefined, extra: Partial<Parameters<typeof exportEvents>[1]> = {}): Promise<{ ids: unknown[]; cursor: string }> => {
    const out = await exportEvents({ ...deps(), events }, { format: 'ndjson', fingerprint: 'f', ...(cursor !== undefined ? { cursor } : {}), ...extra });
    return { ids: (await lines(out.body)).map((e) => e.id), cursor: out.cursor };
  };
  const east = (events: EventLog, from: number, to: number): void => {
    for (let i = from; i <= to; i++) events.record('east', [event(`e${i}`, T0 + i)], { epoch: 7, seq: i });
  };

  it('refuses a cursor below what the log dropped (never a silent gap), also after a restart; a type filter does not hold its cursor back', async () => {
    const logDir = mkdtempSync(join(dir, 'events-dropped-'));
    let events = new EventLog({ dataDir: logDir, capacity: 5 }, { logger: silentLogger() });
    east(events, 1, 3);
    const c1 = await ids(events, undefined);
    east(events, 4, 4);
    const c2 = await ids(events, c1.cursor);
    expect(c2.ids).toEqual(['e4']);
    const typed = await ids(events, undefined, { types: ['controller_down'], fingerprint: 't' });
    // Five more: the log keeps e5..e9 and drops e1..e4. e4 was exported with c2, never with c1.
    east(events, 5, 9);
    await expect(ids(events, c1.cursor)).rejects.toThrow(ExportCursorTooOldError);
    await expect(ids(events, c1.cursor)).rejects.toThrow(/^cursor too old: full export needed \(this hub's event log dropped events after the cursor from east/);
    const c3 = await ids(events, c2.cursor);
    expect(c3.ids).toEqual(['e5', 'e6', 'e7', 'e8', 'e9']);
    // Events of other types went past the typed cursor: what was dropped is behind it.
    expect((await ids(events, typed.cursor, { types: ['controller_down'], fingerprint: 't' })).ids).toEqual([]);

    // e10 drops e5 and makes the log rewrite its file (twice its capacity): what was dropped is kept in it.
    east(events, 10, 10);
    events.close();
    events = new EventLog({ dataDir: logDir, capacity: 5 }, { logger: silentLogger() });
    expect(events.list().map((e) => e.id)).toEqual(['e6', 'e7', 'e8', 'e9', 'e10']);
    await expect(ids(events, c1.cursor)).rejects.toThrow(ExportCursorTooOldError);
    await expect(ids(events, c2.cursor)).rejects.toThrow(ExportCursorTooOldError);
    expect((await ids(events, c3.cursor)).ids).toEqual(['e10']);
    events.close();
  });

  it('refuses a cursor that never saw a source whose events the log dropped since, unless the export does not cover it', async () => {
    let clock = T0;
    const events = new EventLog({ capacity: 3 }, { logger: silentLogger(), clock: () => clock });
    events.record('east', [event('e1', T0)], { epoch: 7, seq: 1 });
    const eastOnly = (e: object): boolean => RowFilter.of([{ cluster: ['east'] }]).allows('event', e);
    const all = await ids(events, undefined, { now: T0 + 1000 });
    const ofEast = await ids(events, undefined, { now: T0 + 1000, cluster: 'east', fingerprint: 'e' });
    const tenant = await ids(events, undefined, { now: T0 + 1000, allow: eastOnly, fingerprint: 'x' });
    clock = T0 + 2000;
    for (let i = 1; i <= 4; i++) events.record('west', [event(`w${i}`, T0 + 2000)], { epoch: 2, seq: i }); // drops e1, then w1
    await expect(ids(events, all.cursor)).rejects.toThrow(/dropped events after the cursor from west/);
    expect((await ids(events, ofEast.cursor, { cluster: 'east', fingerprint: 'e' })).ids).toEqual([]);
    expect((await ids(events, tenant.cursor, { allow: eastOnly, fingerprint: 'x' })).ids).toEqual([]);
  });
});

describe('export audit', () => {
  it("exports this hub's chain, a tenant's records only, incrementally per hub id, and decodes against docs/schemas/audit-export.avsc", async () => {
    const auditDir = mkdtempSync(join(dir, 'audit-'));
    const audit = new AuditLog(auditConfigSchema.parse({ dir: auditDir }), { hubId: 'hub-a', dataDir: auditDir, logger: silentLogger() });
    await audit.record({ action: 'jobs:cancel', resource: 'job east/1', outcome: 'success', user: 'alice', tenant: { cluster: 'east', account: 'research' }, required: true });
    await audit.record({ action: 'jobs:cancel', resource: 'job east/2', outcome: 'denied', user: 'bob', tenant: { cluster: 'east', account: 'physics' }, required: true });
    const first = await exportAudit({ ...deps(), audit }, { format: 'ndjson', fingerprint: 'f' });
    const all = await lines(first.body);
    expect(all.length).toBe(first.rows);
    expect(all.map((r) => r.resource)).toEqual(expect.arrayContaining(['job east/1', 'job east/2']));
    expect(all.every((r, i) => i === 0 || r.prev_hash === all[i - 1].hash)).toBe(true);
    const tenant = await exportAudit({ ...deps(), audit }, { format: 'ndjson', fingerprint: 't', allow: (r) => r.tenant?.account === 'research' });
    expect((await lines(tenant.body)).map((r) => [r.user, r.tenant_account])).toEqual([['alice', 'research']]);
    await audit.record({ action: 'nodes:drain', resource: 'node east/n1', outcome: 'success', user: 'carol', required: true });
    // The cursor came through another hub of the group: its position there is kept, this hub's is used.
    const viaB = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(first.cursor, 'base64url').toString()), p: { ...decodeCursor(first.cursor, 'audit', 'f').positions, 'hub-b': [42] } })).toString('base64url');
    const second = await exportAudit({ ...deps(), audit }, { format: 'ndjson', fingerprint: 'f', cursor: viaB });
    expect((await lines(second.body)).map((r) => r.resource)).toEqual(['node east/n1']);
    expect(decodeCursor(second.cursor, 'audit', 'f').positions).toMatchObject({ 'hub-b': [42], 'hub-a': [audit.writer.lastSeq] });

    const published = JSON.parse(readFileSync(new URL('../../docs/schemas/audit-export.avsc', import.meta.url), 'utf8')) as avro.Schema;
    const file = join(dir, 'audit.avro');
    writeFileSync(file, await buffer((await exportAudit({ ...deps(), audit }, { format: 'avro', fingerprint: 'f' })).body));
    const records: Record<string, unknown>[] = [];
    for await (const r of avro.createFileDecoder(file, { readerSchema: published })) records.push(r as Record<string, unknown>);
    expect(records.find((r) => r.resource === 'job east/2')).toMatchObject({ op: 'upsert', hub_id: 'hub-a', outcome: 'denied', user: 'bob', tenant_cluster: 'east' });
    await audit.close();
  });
});

describe('export audit after retention', () => {
  it('refuses a cursor below the records retention removed (never a silent gap); a cursor past them goes on', async () => {
    const DAY = 86_400_000;
    const auditDir = mkdtempSync(join(dir, 'audit-retention-'));
    const clock = { now: Date.UTC(2019, 0, 1, 12) };
    const audit = new AuditLog(auditConfigSchema.parse({ dir: auditDir, retention_days: 30 }), { hubId: 'hub-a', dataDir: auditDir, logger: silentLogger(), now: () => clock.now });
    await audit.open();
    const cancel = (n: number) => audit.record({ action: 'jobs:cancel', resource: `job east/${n}`, outcome: 'success', user: 'alice', required: true });
    await cancel(1);
    const early = await exportAudit({ ...deps(), audit }, { format: 'ndjson', fingerprint: 'f' });
    // Day 1 and day 2 each get a file; the cursor made after day 1 has not seen day 2.
    clock.now += DAY;
    await cancel(2);
    const late = await exportAudit({ ...deps(), audit }, { format: 'ndjson', fingerprint: 'f', cursor: early.cursor });
    expect((await lines(late.body)).map((r) => r.resource)).toEqual(['job east/2']);
    clock.now += DAY;
    await cancel(3);
    // 30 days on, the files of day 0 and day 1 go; job east/2 was never exported through `early`.
    clock.now += 30 * DAY;
    expect((await audit.applyRetention())?.deleted).toHaveLength(2);
    const refused = exportAudit({ ...deps(), audit }, { format: 'ndjson', fingerprint: 'f', cursor: early.cursor });
    await expect(refused).rejects.toBeInstanceOf(ExportCursorTooOldError);
    await expect(refused).rejects.toMatchObject({ code: 'SF_EXPORT_CURSOR_TOO_OLD', httpStatus: 410, message: expect.stringContaining('audit retention on hub-a') });
    // `late` went past everything retention removed: it goes on with what came after.
    const next = await exportAudit({ ...deps(), audit }, { format: 'ndjson', fingerprint: 'f', cursor: late.cursor });
    expect((await lines(next.body)).map((r) => r.resource)).toEqual(['job east/3', expect.stringMatching(/^audit files? /)]);
    // A full export is what the refused consumer needs: it starts at the oldest record kept.
    expect((await lines((await exportAudit({ ...deps(), audit }, { format: 'ndjson', fingerprint: 'f' })).body)).map((r) => r.resource)[0]).toBe('job east/3');
    await audit.close();
  });
});
