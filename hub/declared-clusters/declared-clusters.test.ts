// hub.yaml's clusters: map: what the hub accepts, and a declared cluster that no agent has
// streamed for listed by GET /api/v1/clusters as "expected, no agent".
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { ListClustersRequest, ListClustersResponse } from '../../generated/fleet/v1/fleet.js';
import { parseConfigText, validateConfigText } from '../../shared/config/index.js';
import { jobDelta, testJob } from '../../shared/delta/testdata/fleet-fixtures.js';
import { silentLogger } from '../../shared/logging/index.js';
import { fleetService } from '../api/grpc/fleet-service.js';
import { buildHttpApi } from '../api/rest/index.js';
import { CommandRouter } from '../commands/index.js';
import { hubConfigSchema } from '../config/index.js';
import { FleetState } from '../fleet/index.js';
import { Authenticator, TokenStore } from '../policy/index.js';
import { WatchFeed } from '../watch/index.js';

const BASE = 'tls: { ca: /etc/sfleet/ca.pem, cert: /etc/sfleet/hub.pem, key: /etc/sfleet/hub-key.pem }\n';

describe('hub.yaml clusters: map', () => {
  it('reads each cluster\'s endpoints and load_balancing as the agent reads its slurm section', () => {
    const c = parseConfigText(hubConfigSchema, `${BASE}clusters:\n  primary:\n    endpoints: ["https://slurm1.company.com", "https://slurm2.company.com"]\n    load_balancing: { strategy: round_robin, health_check_interval: 30s, failover_threshold: 3 }\n  lab:\n    endpoints: ["unix:/run/slurmrestd.sock"]\n`, 'hub.yaml');
    expect(c.clusters?.primary).toEqual({ endpoints: ['https://slurm1.company.com', 'https://slurm2.company.com'], load_balancing: { strategy: 'round_robin', health_check_interval: 30_000, failover_threshold: 3 } });
    expect(c.clusters?.lab).toEqual({ endpoints: ['unix:/run/slurmrestd.sock'] });
  });

  it.each([
    ['  primary: { endpoints: [] }', /clusters\.primary\.endpoints: name at least one slurmrestd endpoint/],
    ['  primary: { endpoints: ["slurm1:6820"] }', /clusters\.primary\.endpoints\.0: expected http\(s\):\/\/host:port or unix:/],
    ['  primary: { endpoints: ["http://s:6820"], load_balancing: { strategy: random } }', /clusters\.primary\.load_balancing\.strategy: Invalid option/],
    ['  primary: { endpoints: ["http://s:6820"], weight: 2 }', /clusters\.primary: Unrecognized key: "weight"/],
    ['  "bad name": { endpoints: ["http://s:6820"] }', /a cluster name: letters, digits/],
  ])('refuses %s with the key and why', (entry, message) => {
    const problems = validateConfigText(hubConfigSchema, `${BASE}clusters:\n${entry}\n`, 'hub.yaml');
    expect(problems).toEqual([expect.stringMatching(message)]);
  });
});

describe('the cluster list with declared clusters', () => {
  it('REST: lists a declared cluster no agent has streamed for as "expected, no agent", beside the connected and the gone; gRPC ListClusters lists it not connected', async () => {
    const state = new FleetState();
    for (const cluster of ['alpha', 'beta']) state.apply(jobDelta([testJob(1, { cluster })], { cluster, snapshot: true }));
    state.setAgentStatus('alpha', { connected: true, agent: 'agent-a' });
    state.setAgentStatus('beta', { connected: false, agent: 'agent-b' });
    const tokens = new TokenStore(mkdtempSync(join(tmpdir(), 't-')));
    const { token } = tokens.create('admin');
    const watch = new WatchFeed(state);
    const { app } = await buildHttpApi({
      logger: silentLogger(),
      authenticator: new Authenticator(tokens),
      state,
      commands: new CommandRouter({ timeoutMs: 1000 }),
      watch,
      readiness: () => ({ ready: true, checks: {} }),
      declared: ['alpha', 'gamma'],
    });
    const res = await app.inject({ method: 'GET', url: '/api/v1/clusters', headers: { authorization: `Bearer ${token}` } });
    expect(res.statusCode).toBe(200);
    const items = (res.json() as { items: Record<string, unknown>[] }).items;
    expect(items.map((c) => [c.name, c.state, c.declared, c.connected])).toEqual([
      ['alpha', 'connected', true, true],
      ['beta', 'disconnected', false, false],
      ['gamma', 'expected, no agent', true, false],
    ]);
    expect(items[2]).toMatchObject({ agent: null, jobs: 0, nodes: 0, last_delta_at: null });
    await app.close();

    const grpc = fleetService({ state, commands: new CommandRouter({ timeoutMs: 1000 }), watch, authenticator: new Authenticator(tokens), declared: ['alpha', 'gamma'] });
    const listed = await new Promise<ListClustersResponse>((resolve, reject) => {
      const metadata = new Metadata();
      metadata.set('authorization', `Bearer ${token}`);
      const call = { request: {}, metadata, getAuthContext: () => ({}) } as unknown as ServerUnaryCall<ListClustersRequest, ListClustersResponse>;
      const callback: sendUnaryData<ListClustersResponse> = (err, value) => (err ? reject(err) : resolve(value!));
      void grpc.listClusters(call, callback);
    });
    expect(listed.clusters.map((c) => [c.name, c.connected, c.agent])).toEqual([
      ['alpha', true, 'agent-a'],
      ['beta', false, 'agent-b'],
      ['gamma', false, ''],
    ]);
  });
});
