// The history routes through the real gate: RBAC permission, the history row filter reaching
// DuckDB, bad input answered 400, and each answer audited with its row count.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../shared/logging/index.js';
import type { HistoryJob } from '../../../shared/history/index.js';
import { AuditLog, auditConfigSchema } from '../../audit/index.js';
import { CommandRouter } from '../../commands/index.js';
import { FleetState } from '../../fleet/index.js';
import { historyConfigSchema, HistoryService } from '../../history/index.js';
import { Authenticator, Rbac, rbacConfigSchema, TokenStore, type BearerVerifier } from '../../policy/index.js';
import { WatchFeed } from '../../watch/index.js';
import { buildHttpApi } from './server.js';

const T0 = Date.UTC(2026, 11, 6, 10);
const run = (job_id: number, user: string, account: string, state = 'COMPLETED'): HistoryJob => ({
  cluster: 'east', job_id, submit_time: T0, start_time: T0 + 60_000, end_time: T0 + 3_600_000, name: 'x', user, account,
  partition: 'batch', qos: 'normal', state, exit_code: state === 'FAILED' ? 1 : 0, exit_signal: 0, alloc_tres: 'cpu=1,node=1',
  cpus: 1, gpus: 0, memory_mb: 100, node_count: 1, node_list: 'n1', nodes: ['n1'],
});

const people: BearerVerifier = {
  kind: 'test',
  verify: (c) => (['pm', 'viewer', 'nobody'].includes(c) ? { name: c, method: 'local', role: 'user', groups: [], attributes: {} } : undefined),
};

let dir: string;
let history: HistoryService;
let audit: AuditLog;
let app: Awaited<ReturnType<typeof buildHttpApi>>['app'];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'history-routes-'));
  history = await HistoryService.open(
    { logger: silentLogger(), now: () => Date.now(), fetch: async () => [], ingesting: () => new Set(['east']), hubId: 'h' },
    historyConfigSchema.parse({ threads: 1, memory_limit: '128MB' }),
    dir,
  );
  await history.store.upsert([run(1, 'alice', 'research'), run(2, 'bob', 'physics', 'FAILED'), run(3, 'carol', 'research', 'FAILED')]);
  audit = new AuditLog(auditConfigSchema.parse({ dir: join(dir, 'audit') }), { hubId: 'h', dataDir: dir, logger: silentLogger() });
  await audit.open();
  const rbac = new Rbac(
    rbacConfigSchema.parse({
      roles: { pm: { permissions: ['history:read,report,export'], filters: { account: 'research' } } },
      bindings: [{ user: 'pm', role: 'pm' }, { user: 'viewer', role: 'viewer' }],
    }),
  );
  const state = new FleetState();
  ({ app } = await buildHttpApi({
    logger: silentLogger(),
    authenticator: new Authenticator(new TokenStore(dir), [people]),
    rbac,
    audit,
    state,
    commands: new CommandRouter({ timeoutMs: 1000 }),
    watch: new WatchFeed(state),
    readiness: () => ({ ready: true, checks: {} }),
    metrics: async () => ({ contentType: 'text/plain', body: '' }),
    history,
  }));
});

afterAll(async () => {
  await app?.close();
  await history?.close();
  await audit?.close();
});

const get = (who: string, url: string) => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${who}` } });

describe('history routes', () => {
  it('answers only the rows of the caller\'s row filter and audits the row count', async () => {
    const res = await get('pm', '/api/v1/history/jobs');
    expect(res.statusCode).toBe(200);
    expect((res.json() as { items: { job_id: number; account: string; end_time: string }[] }).items.map((j) => j.job_id).sort()).toEqual([1, 3]);
    expect(res.json().items[0].end_time).toBe(new Date(T0 + 3_600_000).toISOString());
    const filtered = await get('pm', '/api/v1/history/jobs?user=bob');
    expect(filtered.json().items).toEqual([]);
    const records = audit.query({ action: 'history:*', limit: 10 }).items;
    expect(records.map((r) => r.resource)).toEqual(['history/jobs (2 rows)', 'history/jobs (0 rows)']);
  });

  it('reports usage within the filter, and refuses a caller without history:report', async () => {
    const res = await get('pm', '/api/v1/reports/usage?by=account&since=3650d');
    expect(res.statusCode).toBe(200);
    expect(res.json().items).toEqual([expect.objectContaining({ key: 'research', jobs: 2, failed: 1, failure_rate: 0.5 })]);
    expect((await get('viewer', '/api/v1/reports/usage')).statusCode).toBe(403);
    expect((await get('nobody', '/api/v1/history/jobs')).statusCode).toBe(403);
  });

  it('answers bad input with 400 and a clear detail', async () => {
    const bad = await get('pm', '/api/v1/history/jobs?since=yesterday');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().detail).toMatch(/since: "yesterday" is neither/);
    expect((await get('pm', '/api/v1/reports/usage?by=email')).statusCode).toBe(400);
    expect((await get('pm', '/api/v1/history/jobs?since=1h&until=2h')).json().detail).toMatch(/since: must be before until/);
  });

  it('streams an export of the caller\'s rows with the next cursor, audits format and row count, and refuses bad input', async () => {
    const res = await get('pm', '/api/v1/export/history?format=ndjson');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-ndjson');
    expect(res.body.trimEnd().split('\n').map((l) => (JSON.parse(l) as { job_id: number }).job_id).sort()).toEqual([1, 3]);
    const cursor = String(res.headers['x-sfleet-cursor']);
    const again = await get('pm', `/api/v1/export/history?format=ndjson&cursor=${cursor}`);
    expect([again.statusCode, again.body, again.headers['x-sfleet-export-rows']]).toEqual([200, '', '0']);
    const records = audit.query({ action: 'history:export', limit: 10 }).items;
    expect(records.map((r) => r.resource)).toEqual(['history export ndjson (2 rows)', 'history export ndjson (incremental) (0 rows)']);
    expect((await get('pm', '/api/v1/export/history?format=xlsx')).json().detail).toMatch(/format must be equal to one of the allowed values/);
    expect((await get('pm', '/api/v1/export/history?format=csv&since=yesterday')).json().detail).toMatch(/since: "yesterday" is neither/);
    expect((await get('pm', '/api/v1/export/history?format=csv&cursor=zzz')).statusCode).toBe(400);
    expect((await get('viewer', '/api/v1/export/history?format=csv')).statusCode).toBe(403);
  });
});
