// Snapshots in parts: a hub applies a snapshot sent as several messages as one (never half of
// one, one ack at the end), a stream cut between parts leaves the old state, and parts that do
// not follow each other are refused without harm to the hub. The real agent sends big
// snapshots in parts to hubs that take them, and as one message to hubs that do not.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Server, ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';
import { AgentServiceClient, AgentServiceService, type AgentMessage, type Delta, type HubMessage } from '../generated/fleet/v1/agent.js';
import { HubClient } from '../cli/client/index.js';
import { hubConfigSchema } from '../hub/config/index.js';
import { startHub, type RunningHub } from '../hub/main.js';
import { wrapObject } from '../shared/model/index.js';
import { grpcClientCredentials, loadTls } from '../shared/tls/index.js';
import { makePki, type TestPki } from './harness/pki.js';
import { freePort } from './harness/ports.js';
import { waitFor } from './harness/wait.js';
import { testLogger } from './harness/run-logs.js';
import { makeJob, ScriptedSource } from './harness/scripted-source.js';
import { startTestAgent } from './harness/test-agent.js';

const logger = testLogger('snapshot-parts');
let pki: TestPki;
let hub: RunningHub;
let grpcPort: number;
let httpPort: number;

beforeAll(async () => {
  pki = await makePki();
  grpcPort = await freePort();
  httpPort = await freePort();
  hub = await startHub(
    hubConfigSchema.parse({
      hub_id: 'parts-hub',
      listen: { grpc: `127.0.0.1:${grpcPort}`, http: `127.0.0.1:${httpPort}` },
      tls: pki.hub,
      data_dir: mkdtempSync(join(tmpdir(), 'hub-data-')),
    }),
    { logger },
  );
});

afterAll(async () => {
  await hub?.close();
});

function api(): HubClient {
  return new HubClient({ hub: `https://127.0.0.1:${httpPort}`, ca: pki.ca, cert: pki.client.cert, key: pki.client.key });
}

/** An agent stream driven by hand: what it received, and a way to wait for a message. */
async function rawAgent(cluster: string) {
  const tls = await pki.agent(cluster, `agent-${cluster}`);
  const client = new AgentServiceClient(`127.0.0.1:${grpcPort}`, grpcClientCredentials(loadTls(tls, 'test')));
  const call = client.connect();
  const received: HubMessage[] = [];
  let ended: { code?: number; details?: string } | undefined;
  call.on('data', (m: HubMessage) => received.push(m));
  call.on('error', (err: { code?: number; details?: string }) => (ended = err));
  call.write({ body: { $case: 'hello', value: { cluster, agent_name: `agent-${cluster}`, epoch: 0, last_seq: 0, agent_version: 'test', slurm_api_version: 'v0.0.40' } } } satisfies AgentMessage);
  const welcome = await waitFor('welcome', () => received.find((m) => m.body?.$case === 'welcome'));
  return {
    welcome,
    received,
    ended: () => ended,
    acks: () => received.filter((m) => m.body?.$case === 'ack').map((m) => (m.body as { value: { epoch: number; seq: number } }).value),
    send: (delta: Delta) => call.write({ body: { $case: 'delta', value: delta } } satisfies AgentMessage),
    close: () => {
      call.cancel();
      client.close();
    },
  };
}

function part(cluster: string, epoch: number, seq: number, n: number, total: number, ids: number[], extra: Partial<Delta> = {}): Delta {
  return {
    cluster,
    epoch,
    seq,
    upserts: ids.map((id) => wrapObject('job', makeJob(cluster, id))),
    removals: [],
    observed_at: new Date().toISOString(),
    snapshot: true,
    events: [],
    snapshot_part: n,
    snapshot_parts: total,
    ...extra,
  };
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function jobIds(cluster: string): Promise<number[]> {
  const jobs = await api().all<{ id: number }>('/api/v1/jobs', { cluster });
  return jobs.map((j) => j.id).sort((a, b) => a - b);
}

describe('snapshots in parts at the hub', () => {
  it('says in its welcome that it takes parts, and applies them as one snapshot with one ack', async () => {
    const a = await rawAgent('parts-a');
    expect(a.welcome.body).toMatchObject({ $case: 'welcome', value: { snapshot_parts: true } });
    a.send(part('parts-a', 11, 1, 1, 3, range(1, 400)));
    a.send(part('parts-a', 11, 2, 2, 3, range(401, 800)));
    // Two of three parts in: nothing applied, nothing acked.
    await new Promise((r) => setTimeout(r, 500));
    expect(a.acks()).toEqual([]);
    expect(await jobIds('parts-a')).toEqual([]);
    a.send(part('parts-a', 11, 3, 3, 3, range(801, 1000)));
    await waitFor('the ack of the last part', () => a.acks().length > 0);
    expect(a.acks()).toEqual([{ epoch: 11, seq: 3 }]);
    expect(await jobIds('parts-a')).toEqual(range(1, 1000));
    a.close();
  });

  it('a stream cut between parts leaves the state as it was; the parts sent again replace it whole', async () => {
    const a = await rawAgent('parts-b');
    a.send(part('parts-b', 20, 1, 1, 1, range(1, 10)));
    await waitFor('first snapshot', () => a.acks().length === 1);
    a.close();

    // A new snapshot (jobs 5..20) whose last part never comes.
    const b = await rawAgent('parts-b');
    b.send(part('parts-b', 21, 1, 1, 2, range(5, 12)));
    await new Promise((r) => setTimeout(r, 300));
    b.close();
    await new Promise((r) => setTimeout(r, 300));
    expect(await jobIds('parts-b')).toEqual(range(1, 10));

    // Sent again, whole: jobs 1..4 go, 11..20 come, in one step for a watcher.
    const seen: { event: string; id: string }[] = [];
    const watching = api()
      .stream('/api/v1/watch?cluster=parts-b&kinds=job', undefined, (e) => seen.push({ event: e.event, id: String(JSON.parse(e.data).id) }))
      .catch(() => undefined);
    const c = await rawAgent('parts-b');
    expect(c.welcome.body).toMatchObject({ value: { epoch: 20, seq: 1 } });
    c.send(part('parts-b', 21, 1, 1, 2, range(5, 12)));
    c.send(part('parts-b', 21, 2, 2, 2, range(13, 20)));
    await waitFor('ack of the whole snapshot', () => c.acks().length === 1);
    expect(c.acks()).toEqual([{ epoch: 21, seq: 2 }]);
    expect(await jobIds('parts-b')).toEqual(range(5, 20));
    await waitFor('watch events', () => seen.filter((e) => e.event === 'remove').length === 4 && seen.filter((e) => e.event === 'upsert').length >= 10);
    // Jobs 5..10 were in both snapshots: never removed on the way.
    expect(seen.filter((e) => e.event === 'remove').map((e) => Number(e.id)).sort((x, y) => x - y)).toEqual([1, 2, 3, 4]);
    // Parts sent once more after the ack (a resend after a lost ack): acked again, not applied twice.
    c.send(part('parts-b', 21, 1, 1, 2, range(5, 12)));
    c.send(part('parts-b', 21, 2, 2, 2, range(13, 20)));
    await waitFor('acks of the duplicates', () => c.acks().length === 3);
    expect(c.acks().slice(1)).toEqual([
      { epoch: 21, seq: 2 },
      { epoch: 21, seq: 2 },
    ]);
    c.close();
    void watching;
  });

  it('refuses parts that do not follow each other with a clear error; the hub keeps serving', async () => {
    const a = await rawAgent('parts-c');
    a.send(part('parts-c', 30, 2, 2, 3, range(1, 5)));
    const err = await waitFor('stream refused', () => a.ended());
    expect(err.details).toMatch(/^SF_INGEST_BAD_SNAPSHOT_PART: got part 2 of 3 at epoch 30 seq 2 after no part/);
    a.close();
    const b = await rawAgent('parts-c');
    b.send(part('parts-c', 31, 1, 0, 2, range(1, 5)));
    const err2 = await waitFor('stream refused', () => b.ended());
    expect(err2.details).toMatch(/SF_INGEST_BAD_SNAPSHOT_PART: part 0 of 2/);
    b.close();
    expect(await jobIds('parts-c')).toEqual([]);
    const clusters = await api().json<{ items: { name: string }[] }>('GET', '/api/v1/clusters');
    expect(clusters.items.map((c) => c.name)).toContain('parts-a');
  });
});

describe('the agent sends big snapshots in parts', () => {
  async function agentFor(source: ScriptedSource, endpoint: string) {
    const tls = await pki.agent(source.cluster, `agent-${source.cluster}`);
    return startTestAgent({ cluster: source.cluster, name: 'head1', endpoints: [endpoint], backoff: ['100ms', '500ms'], tls, pollInterval: '1h' }, { logger, source });
  }

  it('12,000 jobs reach the hub as three parts and one ack; the hub holds all of them', async () => {
    const source = new ScriptedSource('parts-big');
    source.model.job = range(1, 12_000).map((id) => makeJob('parts-big', id));
    const agent = await agentFor(source, `127.0.0.1:${grpcPort}`);
    try {
      await waitFor('every job at the hub', async () => (await jobIds('parts-big')).length === 12_000, 60_000, 250);
      await waitFor('the snapshot acked', () => agent.spool.unackedCount === 0, 30_000);
      expect(agent.stream.stats.deltasSent).toBe(3);
      expect(agent.stream.stats.acks).toBe(1);
      expect(agent.spool.lastSeq).toBe(3);
    } finally {
      await agent.close();
    }
  });

  it('a hub that does not take parts gets the snapshot as one message', async () => {
    // A hub of the release before parts: its welcome does not say snapshot_parts.
    const got: Delta[] = [];
    const server = new Server();
    server.addService(AgentServiceService, {
      connect: (call: ServerDuplexStream<AgentMessage, HubMessage>) => {
        call.on('data', (m: AgentMessage) => {
          if (m.body?.$case === 'hello') {
            call.write({ body: { $case: 'welcome', value: { epoch: 0, seq: 0, hub_id: 'old-hub', heartbeat_interval_ms: 5000, role: 1, snapshot_parts: false } } });
          } else if (m.body?.$case === 'delta') {
            got.push(m.body.value);
            call.write({ body: { $case: 'ack', value: { epoch: m.body.value.epoch, seq: m.body.value.seq } } });
          }
        });
        call.on('end', () => call.end());
      },
    });
    const tls = loadTls(pki.hub, 'test');
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createSsl(tls.ca, [{ private_key: tls.key, cert_chain: tls.cert }], true), (err, p) => (err ? reject(err) : resolve(p))),
    );
    const source = new ScriptedSource('parts-old');
    source.model.job = range(1, 12_000).map((id) => makeJob('parts-old', id));
    const agent = await agentFor(source, `127.0.0.1:${port}`);
    try {
      await waitFor('the snapshot at the old hub', () => got.length > 0, 60_000, 100);
      await waitFor('the snapshot acked', () => agent.spool.unackedCount === 0, 30_000);
      expect(got).toHaveLength(1);
      expect(got[0]).toMatchObject({ cluster: 'parts-old', seq: 3, snapshot: true });
      expect(got[0].upserts).toHaveLength(12_000);
      expect(new Set(got[0].upserts.map((o) => (o.kind?.value as { id: number }).id)).size).toBe(12_000);
    } finally {
      await agent.close();
      server.forceShutdown();
    }
  });
});
