// Slurm controller failover, end to end: one simulated slurmctld (a SimEngine) behind two
// slurmrestd endpoints (primary and backup SimServers), one agent with both endpoints and
// `load_balancing`, a real in-process hub. The primary goes away (`setFaults({down:true})`):
// the agent moves to the backup within failover_threshold health checks, the fleet state stays
// Slurm's, and the controller_failover event shows up exactly once in GET /api/v1/events, in
// `sfleet events -o json` (the built CLI), in the SSE watch stream, and after a hub restart.
// When the primary is back, the agent fails back.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../agent/main.js';
import { HubClient } from '../cli/client/index.js';
import { hubConfigSchema } from '../hub/config/index.js';
import type { EventView } from '../hub/events/index.js';
import { startHub, type RunningHub } from '../hub/main.js';
import { testLogger } from './harness/run-logs.js';
import { SimServer, startSimulator, type RunningSimulator } from '../sim/index.js';
import { makePki, type TestPki } from './harness/pki.js';
import { freePort } from './harness/ports.js';
import { waitFor } from './harness/wait.js';
import { assertBuilt, sfleet } from './harness/sfleet-process.js';
import { startTestAgent } from './harness/test-agent.js';

const logger = testLogger('controller-failover');
const CLUSTER = 'ha-a';
const HEALTH_CHECK_MS = 300;
const THRESHOLD = 3;
const POLL_MS = 500;

let pki: TestPki;
let dataDir: string;
let grpcPort: number;
let httpPort: number;
let primary: RunningSimulator;
let backup: SimServer;
let backupUrl: string;
let h: RunningHub;
let a: RunningAgent;

async function hub(): Promise<RunningHub> {
  return startHub(
    hubConfigSchema.parse({
      hub_id: 'failover-hub',
      listen: { grpc: `127.0.0.1:${grpcPort}`, http: `127.0.0.1:${httpPort}` },
      tls: pki.hub,
      data_dir: dataDir,
    }),
    { logger },
  );
}

function api(): HubClient {
  return new HubClient({ hub: `https://127.0.0.1:${httpPort}`, ca: pki.ca, cert: pki.client.cert, key: pki.client.key });
}

const cliEnv = (): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: mkdtempSync(join(tmpdir(), 'sfleet-home-')),
  SFLEET_HUB: `https://127.0.0.1:${httpPort}`,
  SFLEET_CA: pki.ca,
  SFLEET_CERT: pki.client.cert,
  SFLEET_KEY: pki.client.key,
});

async function events(query = ''): Promise<EventView[]> {
  return (await api().json<{ items: EventView[] }>('GET', `/api/v1/events?cluster=${CLUSTER}${query}`)).items;
}

/** The hub's jobs equal the simulated slurmctld's. */
async function jobsMatchSlurm(): Promise<boolean> {
  const atHub = (await api().all<{ id: number }>('/api/v1/jobs', { cluster: CLUSTER })).map((j) => j.id).sort((x, y) => x - y);
  const inSlurm = [...primary.engine.jobs()].map((j) => j.id).sort((x, y) => x - y);
  return atHub.length > 0 && JSON.stringify(atHub) === JSON.stringify(inSlurm);
}

beforeAll(async () => {
  assertBuilt();
  pki = await makePki();
  dataDir = mkdtempSync(join(tmpdir(), 'hub-failover-'));
  grpcPort = await freePort();
  httpPort = await freePort();
  // One slurmctld (the engine, ticked by hand), two slurmrestd in front of it.
  primary = await startSimulator({ listen: '127.0.0.1:0', cluster: CLUSTER, nodes: 8, jobs: 12, apiVersion: 'v0.0.41', tickMs: 0, log: () => undefined });
  backup = new SimServer({ engine: primary.engine, apiVersion: 'v0.0.41', seed: 2 });
  backupUrl = `http://127.0.0.1:${(await backup.listen('127.0.0.1', 0)).port}`;
  h = await hub();
  a = await startTestAgent(
    {
      cluster: CLUSTER,
      name: 'head1',
      endpoints: [`127.0.0.1:${grpcPort}`],
      backoff: ['100ms', '500ms'],
      tls: await pki.agent(CLUSTER, 'head1'),
      slurm: {
        source: 'rest',
        endpoints: [primary.url, backupUrl],
        auth: { user: 'root', token: 'sim-token' },
        timeout: '2s',
        load_balancing: { strategy: 'failover', health_check_interval: `${HEALTH_CHECK_MS}ms`, failover_threshold: THRESHOLD },
      },
      pollInterval: `${POLL_MS}ms`,
      spoolDir: mkdtempSync(join(tmpdir(), 'spool-failover-')),
    },
    { logger },
  );
});

afterAll(async () => {
  await a?.close();
  await h?.close();
  await backup?.close();
  await primary?.close();
});

describe('Slurm controller failover', () => {
  const watched: { id?: string; event: string; data: string }[] = [];
  let failoverId = '';

  it('the agent reads the primary and the hub has the cluster', async () => {
    await waitFor('jobs at the hub', jobsMatchSlurm);
    expect(await events()).toEqual([]);
    void api()
      .stream(`/api/v1/watch?cluster=${CLUSTER}`, undefined, (e) => watched.push(e))
      .catch(() => undefined);
    await new Promise((r) => setTimeout(r, 200));
  });

  it('when the primary goes away the agent switches to the backup within failover_threshold health checks, and the state stays Slurm\'s', async () => {
    const downAt = Date.now();
    primary.setFaults({ down: true });
    const [failover] = await waitFor('controller_failover at the hub', async () => {
      const list = await events('&type=controller_failover');
      return list.length > 0 && list;
    }, 20_000, 100);
    failoverId = failover.id;
    const switchedAfterMs = Date.parse(failover.occurred_at) - downAt;
    if (process.env.SFLEET_TEST_VERBOSE) process.stderr.write(`controller failover after ${switchedAfterMs} ms\n`);
    // Health checks alone need THRESHOLD intervals; polls count too. Allow one poll and scheduling slack.
    expect(switchedAfterMs).toBeLessThanOrEqual(THRESHOLD * HEALTH_CHECK_MS + POLL_MS + 1000);
    expect(failover).toMatchObject({
      cluster: CLUSTER,
      type: 'controller_failover',
      severity: 'warning',
      attributes: { component: 'slurmrestd', from_endpoint: primary.url, to_endpoint: backupUrl, strategy: 'failover' },
    });
    expect(failover.id).toMatch(/^[0-9a-f-]{36}$/);
    const down = await events('&type=controller_down');
    expect(down.map((e) => [e.attributes.endpoint, e.severity])).toEqual([[primary.url, 'warning']]);

    // Slurm changes while only the backup answers: the hub follows.
    const submitted = primary.engine.submit({ name: 'after-failover', user: 'alice', cpus: 1, durationS: 3600 });
    primary.engine.cancel([...primary.engine.jobs()][0].id);
    await waitFor('new job at the hub via the backup', () => h.state.job(CLUSTER, String(submitted)));
    await waitFor('hub jobs equal Slurm\'s', jobsMatchSlurm);
  });

  it('the watch stream delivered the event once, as SSE type "event"', async () => {
    const seen = await waitFor('event in the watch stream', () => {
      const list = watched.filter((e) => e.event === 'event').map((e) => JSON.parse(e.data) as { kind: string; id: string; object: EventView });
      return list.some((e) => e.object.type === 'controller_failover') && list;
    });
    const failovers = seen.filter((e) => e.object.type === 'controller_failover');
    expect(failovers.map((e) => [e.kind, e.id])).toEqual([['event', failoverId]]);
    // Object changes still arrive as before.
    expect(watched.some((e) => e.event === 'upsert')).toBe(true);
  });

  it('`sfleet events -o json` shows it exactly once, and so does the API after the hub restarts', async () => {
    const fromCli = JSON.parse(await sfleet(['events', '-o', 'json', '--cluster', CLUSTER, '--type', 'controller_failover'], cliEnv())) as EventView[];
    expect(fromCli.map((e) => e.id)).toEqual([failoverId]);
    const table = await sfleet(['events', '--cluster', CLUSTER], cliEnv());
    expect(table.split('\n')[0]).toMatch(/^TIME\s+CLUSTER\s+TYPE\s+SEVERITY\s+MESSAGE$/);
    expect(table).toContain('controller_failover');

    const seqBefore = h.state.clusters.get(CLUSTER)!.seq;
    await h.close();
    h = await hub();
    expect((await events('&type=controller_failover')).map((e) => e.id)).toEqual([failoverId]);
    // The agent reconnects and carries on; nothing is delivered twice.
    await waitFor('agent back', () => h.state.clusters.get(CLUSTER)?.connected);
    primary.engine.submit({ name: 'after-restart', user: 'bob', cpus: 1, durationS: 3600 });
    await waitFor('a new delta after the restart', () => h.state.clusters.get(CLUSTER)!.seq > seqBefore);
    await waitFor('hub jobs equal Slurm\'s', jobsMatchSlurm);
    expect((await events('&type=controller_failover')).map((e) => e.id)).toEqual([failoverId]);
    const again = JSON.parse(await sfleet(['events', '-o', 'json', '--cluster', CLUSTER], cliEnv())) as EventView[];
    expect(again.filter((e) => e.type === 'controller_failover').map((e) => e.id)).toEqual([failoverId]);
  });

  it('when the primary is back the agent fails back to it', async () => {
    primary.clearFaults();
    const back = await waitFor('fail back', async () => {
      const list = (await events('&type=controller_failover')).filter((e) => e.attributes.to_endpoint === primary.url);
      return list.length > 0 && list;
    }, 20_000, 100);
    expect(back).toHaveLength(1);
    expect(back[0]).toMatchObject({ severity: 'info', attributes: { from_endpoint: backupUrl, to_endpoint: primary.url } });
    expect((await events('&type=controller_up')).map((e) => e.attributes.endpoint)).toEqual([primary.url]);
    const submitted = primary.engine.submit({ name: 'after-failback', user: 'carol', cpus: 1, durationS: 3600 });
    await waitFor('job after fail back', () => h.state.job(CLUSTER, String(submitted)));
  });
});
