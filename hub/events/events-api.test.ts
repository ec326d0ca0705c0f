// GET /api/v1/events and fleet events in the watch feed, in-process.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/logging/index.js';
import { buildHttpApi } from '../api/rest/index.js';
import { CommandRouter } from '../commands/index.js';
import { FleetState } from '../fleet/index.js';
import { Authenticator, TokenStore } from '../policy/index.js';
import { WatchFeed, type WatchEvent } from '../watch/index.js';
import { EventLog } from './index.js';

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

async function build() {
  const dir = mkdtempSync(join(tmpdir(), 'events-api-'));
  const tokens = new TokenStore(dir);
  const { token } = tokens.create('reader');
  const state = new FleetState();
  const watch = new WatchFeed(state);
  const events = new EventLog({ dataDir: dir }, { logger: silentLogger() });
  events.subscribe((e) => watch.publishEvent(e));
  const { app, routes } = await buildHttpApi({
    logger: silentLogger(),
    authenticator: new Authenticator(tokens),
    state,
    commands: new CommandRouter({ timeoutMs: 1000 }),
    watch,
    events,
    readiness: () => ({ ready: true, checks: {} }),
    metrics: async () => ({ contentType: 'text/plain', body: '' }),
  });
  closers.push(() => app.close());
  const get = (url: string) => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
  return { app, routes, events, watch, get };
}

const failover = { id: 'ev-1', cluster: 'c1', type: 'controller_failover', severity: 'warning', message: 'slurmrestd switched', occurred_at: '2026-03-01T11:00:00.000Z', attributes: { component: 'slurmrestd', from_endpoint: 'http://a:6820', to_endpoint: 'http://b:6820', reason: 'down' } };

describe('GET /api/v1/events', () => {
  it('lists events with filters, declares cluster:read, and is in the OpenAPI document', async () => {
    const { routes, events, get } = await build();
    events.record('c1', [failover]);
    events.record('c2', [{ ...failover, id: 'ev-2', cluster: 'c2', type: 'controller_down', severity: 'critical' }]);
    const route = routes.find((r) => r.url === '/api/v1/events');
    expect(route?.permission).toBe('cluster:read');

    const all = await get('/api/v1/events');
    expect(all.statusCode).toBe(200);
    expect(all.json().items.map((e: { id: string }) => e.id)).toEqual(['ev-1', 'ev-2']);
    expect(all.json().items[0]).toEqual({ ...failover, received_at: expect.any(String) });
    expect((await get('/api/v1/events?cluster=c2')).json().items.map((e: { id: string }) => e.id)).toEqual(['ev-2']);
    expect((await get('/api/v1/events?type=controller_failover')).json().items.map((e: { id: string }) => e.id)).toEqual(['ev-1']);
    expect((await get('/api/v1/events?limit=1')).json().items.map((e: { id: string }) => e.id)).toEqual(['ev-2']);
    expect((await get('/api/v1/events?since=2026-03-01T11:00:01Z')).json().items).toEqual([]);

    const spec = (await get('/api/v1/openapi.json')).json();
    expect(spec.paths['/api/v1/events'].get['x-permission']).toBe('cluster:read');
    expect(spec.paths['/api/v1/events'].get.parameters.map((p: { name: string }) => p.name)).toEqual(['cluster', 'type', 'since', 'limit']);
  });

  it('answers problem+json for an unknown parameter or a bad since', async () => {
    const { get } = await build();
    const unknown = await get('/api/v1/events?severity=critical');
    expect(unknown.statusCode).toBe(400);
    expect(unknown.headers['content-type']).toMatch(/problem\+json/);
    const since = await get('/api/v1/events?since=yesterday');
    expect(since.statusCode).toBe(400);
    expect(since.json().code).toBe('SF_API_BAD_REQUEST');
  });
});

describe('fleet events in the watch feed', () => {
  it('go to watchers that ask for them, filtered by cluster, and replay after Last-Event-ID', async () => {
    const { events, watch } = await build();
    const got: WatchEvent[] = [];
    const objectsOnly: WatchEvent[] = [];
    const otherCluster: WatchEvent[] = [];
    watch.subscribe({ events: true }, undefined, (e) => got.push(e));
    watch.subscribe({}, undefined, (e) => objectsOnly.push(e));
    watch.subscribe({ events: true, cluster: 'c9' }, undefined, (e) => otherCluster.push(e));
    const before = watch.lastId;
    events.record('c1', [failover]);
    events.record('c1', [failover]); // a duplicate is not published again
    expect(got.map((e) => [e.type, e.cluster, e.object_id, e.event?.type])).toEqual([['event', 'c1', 'ev-1', 'controller_failover']]);
    expect(objectsOnly).toEqual([]);
    expect(otherCluster).toEqual([]);
    const replay: WatchEvent[] = [];
    watch.subscribe({ events: true }, before, (e) => replay.push(e));
    expect(replay.map((e) => e.object_id)).toEqual(['ev-1']);
  });
});
