// REST and gRPC tell the same clusters stale, from the one definition (hub/fleet/freshness.ts).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { ListClustersRequest, ListClustersResponse } from '../../generated/fleet/v1/fleet.js';
import { jobDelta, testJob } from '../../shared/delta/testdata/fleet-fixtures.js';
import { silentLogger } from '../../shared/logging/index.js';
import { CommandRouter } from '../commands/index.js';
import { ANY_CLUSTER, FleetState, type StaleClusters } from '../fleet/index.js';
import { Authenticator, TokenStore } from '../policy/index.js';
import { WatchFeed } from '../watch/index.js';
import { fleetService } from './grpc/fleet-service.js';
import { buildHttpApi } from './rest/index.js';

async function setup(stale: (() => StaleClusters) | undefined) {
  const state = new FleetState();
  for (const cluster of ['alpha', 'beta']) state.apply(jobDelta([testJob(1, { cluster })], { cluster, snapshot: true }));
  state.setAgentStatus('alpha', { connected: true, agent: 'agent-a' });
  state.setAgentStatus('beta', { connected: false });
  const tokens = new TokenStore(mkdtempSync(join(tmpdir(), 't-')));
  const { token } = tokens.create('admin');
  const authenticator = new Authenticator(tokens);
  const commands = new CommandRouter({ timeoutMs: 1000 });
  const watch = new WatchFeed(state);
  const { app } = await buildHttpApi({
    logger: silentLogger(),
    authenticator,
    state,
    commands,
    watch,
    readiness: () => ({ ready: true, checks: {} }),
    metrics: async () => ({ contentType: 'text/plain', body: '' }),
    ...(stale ? { stale } : {}),
  });
  const grpc = fleetService({ state, commands, watch, authenticator, ...(stale ? { stale } : {}) });
  const listClusters = (): Promise<ListClustersResponse> =>
    new Promise((resolve, reject) => {
      const metadata = new Metadata();
      metadata.set('authorization', `Bearer ${token}`);
      const call = { request: {}, metadata, getAuthContext: () => ({}) } as unknown as ServerUnaryCall<ListClustersRequest, ListClustersResponse>;
      const callback: sendUnaryData<ListClustersResponse> = (err, value) => (err ? reject(err) : resolve(value!));
      void grpc.listClusters(call, callback);
    });
  const rest = async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/clusters', headers: { authorization: `Bearer ${token}` } });
    return { headers: res.headers, items: (res.json() as { items: Record<string, unknown>[] }).items };
  };
  return { app, listClusters, rest };
}

describe('cluster freshness over REST and gRPC', () => {
  it('clustered: the same clusters are stale in both, with the headers and stale_reason on REST', async () => {
    const stale = new Map([
      [ANY_CLUSTER, 'catching up'],
      ['beta', 'deltas missing: waiting for a snapshot from the ingesting hub'],
    ]);
    const { app, listClusters, rest } = await setup(() => stale);
    const r = await rest();
    expect(r.headers['x-sfleet-freshness']).toBe('stale');
    expect(r.headers['x-sfleet-stale-clusters']).toBe('*,beta');
    expect(r.items.map((c) => [c.name, c.connected, c.stale, c.stale_reason])).toEqual([
      ['alpha', true, false, null],
      ['beta', false, true, 'deltas missing: waiting for a snapshot from the ingesting hub'],
    ]);
    const g = await listClusters();
    expect(g.clusters.map((c) => [c.name, c.connected, c.stale])).toEqual([
      ['alpha', true, false],
      ['beta', false, true],
    ]);
    stale.clear();
    expect((await rest()).headers['x-sfleet-freshness']).toBe('fresh');
    expect((await rest()).headers['x-sfleet-stale-clusters']).toBeUndefined();
    expect((await listClusters()).clusters.map((c) => c.stale)).toEqual([false, false]);
    await app.close();
  });

  it('standalone: nothing is stale (a disconnected cluster is not connected, not stale); REST adds no freshness fields', async () => {
    const { app, listClusters, rest } = await setup(undefined);
    const r = await rest();
    expect(r.headers['x-sfleet-freshness']).toBeUndefined();
    expect(r.items.map((c) => 'stale' in c)).toEqual([false, false]);
    expect((await listClusters()).clusters.map((c) => [c.name, c.connected, c.stale])).toEqual([
      ['alpha', true, false],
      ['beta', false, false],
    ]);
    await app.close();
  });
});
