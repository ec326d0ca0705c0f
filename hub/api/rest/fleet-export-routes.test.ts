// The export routes of jobs, nodes, events and audit on a hub with no job history (so Parquet uses
// an engine of the routes' own) and no audit log: answers, headers, the cursor round trip, and
// bad input as problem documents.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CURSOR_HEADER, ROWS_HEADER } from '../../../shared/export/index.js';
import { jobDelta, testJob } from '../../../shared/delta/testdata/fleet-fixtures.js';
import { silentLogger } from '../../../shared/logging/index.js';
import { CommandRouter } from '../../commands/index.js';
import { FleetState } from '../../fleet/index.js';
import { Authenticator, TokenStore } from '../../policy/index.js';
import { WatchFeed } from '../../watch/index.js';
import { buildHttpApi } from './server.js';

describe('GET /api/v1/export/{jobs,nodes,events,audit}', () => {
  it('answers files with the next cursor and the row count, Parquet without a history, and clear errors', async () => {
    const tokens = new TokenStore(mkdtempSync(join(tmpdir(), 't-')));
    const { token } = tokens.create('ops');
    const state = new FleetState();
    state.apply(jobDelta([testJob(1), testJob(2)], { snapshot: true, epoch: 4, seq: 1 }));
    const { app } = await buildHttpApi({
      logger: silentLogger(), authenticator: new Authenticator(tokens), state, commands: new CommandRouter({ timeoutMs: 1000 }), watch: new WatchFeed(state),
      readiness: () => ({ ready: true, checks: {} }),
    });
    const get = (url: string) => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
    // `cursor=` (empty) opens the series, as sfleet export --cursor FILE does on its first run.
    const first = await get('/api/v1/export/jobs?format=ndjson&cursor=');
    expect(first.statusCode).toBe(200);
    expect(first.headers['content-type']).toBe('application/x-ndjson');
    expect(first.headers[ROWS_HEADER]).toBe('2');
    state.apply(jobDelta([testJob(3)], { epoch: 4, seq: 2, removedJobs: [1] }));
    const ops = (body: string) => body.trimEnd().split('\n').map((l) => { const r = JSON.parse(l) as { op: string; id: number | null }; return `${r.op} ${r.id}`; }).sort();
    const next = await get(`/api/v1/export/jobs?format=ndjson&cursor=${String(first.headers[CURSOR_HEADER])}`);
    expect(ops(next.body)).toEqual(['delete 1', 'upsert 3']);
    const parquet = await get('/api/v1/export/jobs?format=parquet');
    expect(parquet.statusCode).toBe(200);
    expect(parquet.rawPayload.subarray(0, 4).toString()).toBe('PAR1');
    expect((await get('/api/v1/export/events?format=json')).json()).toEqual([]);
    const audit = await get('/api/v1/export/audit?format=csv');
    expect([audit.statusCode, audit.json().code]).toEqual([503, 'SF_EXPORT_SOURCE_MISSING']);
    expect((await get('/api/v1/export/jobs?format=csv&since=yesterday')).json().detail).toMatch(/since: "yesterday" is neither/);
    expect((await get('/api/v1/export/nodes?format=xlsx')).json().detail).toMatch(/format must be equal to one of the allowed values/);
    expect((await get('/api/v1/export/jobs?format=csv&cursor=abc')).json().detail).toMatch(/cursor: not a cursor this hub wrote/);
    expect((await get(`/api/v1/export/nodes?format=csv&cursor=${String(first.headers[CURSOR_HEADER])}`)).json().detail).toMatch(/cursor: made for an export of jobs, not of nodes/);
    await app.close();
  });
});
