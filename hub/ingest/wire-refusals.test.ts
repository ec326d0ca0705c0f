// What an agent reads on the wire when the hub refuses its stream: the gRPC status code and the
// details ("SF_*: message"). Agents already deployed match on these, so they are a contract:
// the table below was written from the hub's code before ingest's errors became typed, and the
// real agent stream client (agent/stream) is driven through every refusal path against a real
// ingest served over mutual TLS on loopback. Paths the real agent cannot take (it always says
// hello first) go through the generated client; odd deltas come from a spool holding them.
import { X509Certificate } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Server, status, type ServerDuplexStream } from '@grpc/grpc-js';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DeltaSpool, encodeForWire, type WireDelta } from '../../agent/spool/index.js';
import { HubStream } from '../../agent/stream/index.js';
import { AgentServiceClient, type AgentMessage, type Delta, type HubMessage } from '../../generated/fleet/v1/agent.js';
import { ManualClock } from '../../shared/clock/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { testJob } from '../../shared/delta/testdata/fleet-fixtures.js';
import { grpcClientCredentials, grpcServerCredentials, initCa, issueCertificate, loadTls, type TlsFiles } from '../../shared/tls/index.js';
import { CommandRouter } from '../commands/index.js';
import { FleetState } from '../fleet/index.js';
import { AgentCertificates } from './certificate-renewal.js';
import { HubPipeline, type HubPipelineDeps } from '../pipeline.js';
import { IngestRegistry, type IngestDeps } from './index.js';

/** What agents read today, path by path (code, then details exactly). */
const EXPECTED = {
  notAnAgent: [status.PERMISSION_DENIED, 'SF_INGEST_NOT_AN_AGENT: this stream needs an agent certificate (spiffe://<td>/cluster/<c>/agent/<n>)'],
  revokedAtConnect: [status.UNAUTHENTICATED, 'SF_TLS_CERT_REVOKED: certificate %serial was revoked at 2026-11-01T00:00:00.000Z (key compromised)'],
  revokedWhileOpen: [status.UNAUTHENTICATED, 'SF_TLS_CERT_REVOKED: certificate %serial was revoked at 2026-11-01T00:00:00.000Z (key compromised)'],
  noHelloInTime: [status.DEADLINE_EXCEEDED, 'SF_INGEST_NO_HELLO: no hello within the deadline'],
  firstNotHello: [status.FAILED_PRECONDITION, 'SF_INGEST_NO_HELLO: the first message must be a hello'],
  wrongClusterHello: [status.PERMISSION_DENIED, 'SF_INGEST_WRONG_CLUSTER: this certificate speaks for cluster "wire-a", not "wire-b"'],
  wrongClusterDelta: [status.PERMISSION_DENIED, 'SF_INGEST_WRONG_CLUSTER: this stream speaks for cluster "wire-a" only'],
  superseded: [status.ABORTED, 'SF_INGEST_SUPERSEDED: a newer stream of agent head1 took over cluster wire-a'],
  replacedWhileSilent: [status.UNAVAILABLE, 'SF_INGEST_AGENT_SILENT: replaced by a live agent of the same cluster'],
  silent: [status.UNAVAILABLE, 'SF_INGEST_AGENT_SILENT: no message from the agent for 3 heartbeats'],
  snapshotPartOutOfOrder: [status.INVALID_ARGUMENT, 'SF_INGEST_BAD_SNAPSHOT_PART: got part 2 of 3 at epoch 40 seq 2 after no part'],
  snapshotPartMalformed: [status.INVALID_ARGUMENT, 'SF_INGEST_BAD_SNAPSHOT_PART: part 0 of 2 (snapshot true) at seq 1'],
  snapshotTooManyParts: [status.INVALID_ARGUMENT, 'SF_INGEST_BAD_SNAPSHOT_PART: part 3 of 2 (snapshot true) at seq 1'],
  applyFailed: [status.INTERNAL, 'SF_INGEST_APPLY_FAILED: the hub could not store the delta'],
  malformedDelta: [status.INTERNAL, 'Error deserializing request'],
} as const;

type Refusal = readonly [status, string];

let caDir: string;
let hubTls: TlsFiles;
const revoked = new Set<string>();
const open: { close(): void }[] = [];

beforeAll(async () => {
  caDir = mkdtempSync(join(tmpdir(), 'wire-ca-'));
  await initCa(caDir, { trustDomain: 'wire.fleet' });
  hubTls = await issue('hub', 'hub');
});

afterEach(() => {
  vi.restoreAllMocks();
  for (const o of open.splice(0)) o.close();
});

afterAll(() => revoked.clear());

async function issue(role: 'agent' | 'hub' | 'client', name: string, cluster?: string): Promise<TlsFiles> {
  const out = await issueCertificate(caDir, { role, name, cluster });
  return { ca: join(caDir, 'ca.pem'), cert: out.cert, key: out.key };
}

function serialOf(files: TlsFiles): string {
  return new X509Certificate(loadTls(files, 'test').cert).serialNumber;
}

/** The hub's ingest (IngestRegistry) on a loopback gRPC server with mutual TLS. */
async function serve(over: Partial<IngestDeps> & { store?: HubPipelineDeps['store'] } = {}): Promise<{ endpoint: string; ingest: IngestRegistry; certificates: AgentCertificates }> {
  const certificates = new AgentCertificates({
    logger: silentLogger(),
    revoked: (serial) => (serial && revoked.has(serial) ? { serial, revoked_at: '2026-11-01T00:00:00.000Z', reason: 'key compromised' } : undefined),
    lifetimeMs: 60_000,
  });
  const state = new FleetState();
  const ingest = new IngestRegistry({
    path: new HubPipeline({ state, store: over.store }),
    state,
    commands: new CommandRouter({ timeoutMs: 1000 }),
    logger: silentLogger(),
    hubId: 'wire-hub',
    heartbeatMs: 10_000,
    certificates,
    audit: { record: async () => ({}) as never },
    ...over,
  });
  const server = new Server();
  server.addService(ingest.service, { connect: (call: ServerDuplexStream<AgentMessage, HubMessage>) => ingest.handle(call) });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpcServerCredentials(loadTls(hubTls, 'hub')), (err, p) => (err ? reject(err) : resolve(p))),
  );
  open.push({ close: () => server.forceShutdown() });
  return { endpoint: `127.0.0.1:${port}`, ingest, certificates };
}

/** The real agent stream client; `refusals` holds what it read when the hub ended the stream. */
function agent(endpoint: string, tls: TlsFiles, opts: { cluster?: string; name?: string; heartbeatMs?: number; send?: WireDelta[] } = {}) {
  const refusals: Refusal[] = [];
  // The agent's own log line for a failed stream carries the status code and the details.
  const sink = new Writable({
    write(chunk, _enc, done) {
      const line = JSON.parse(String(chunk)) as { msg: string; code?: number; err?: string };
      if (line.msg === 'hub stream failed') refusals.push([line.code as status, line.err ?? '']);
      done();
    },
  });
  const spool = DeltaSpool.open(mkdtempSync(join(tmpdir(), 'wire-spool-')), { cluster: opts.cluster ?? 'wire-a', maxBytes: 1 << 24 }, { logger: silentLogger() });
  if (opts.send) {
    const crafted = opts.send;
    // A spool holding what a broken or hostile agent would send: the real client sends it as it is.
    Object.assign(spool, { *unackedWire() { for (const [i, wire] of crafted.entries()) yield { seq: i + 1, wire, part: 0, parts: 0 }; } });
  }
  const stream = new HubStream(
    { cluster: opts.cluster ?? 'wire-a', agentName: opts.name ?? 'head1', agentVersion: 'test', endpoints: [endpoint], tls: () => loadTls(tls, 'agent'), initialBackoffMs: 60_000, maxBackoffMs: 60_000, heartbeatMs: opts.heartbeatMs },
    { logger: pino({ level: 'warn' }, sink), spool, runCommand: async (c) => ({ id: c.id, ok: true, message: '', code: '', via: '', history: [], job_id: '' }), slurmApiVersion: () => 'v0.0.41' },
  );
  stream.start();
  open.push({ close: () => void stream.stop() });
  return { stream, refusals };
}

/** The generated client, for what the real agent never does. */
function rawAgent(endpoint: string, tls: TlsFiles) {
  const client = new AgentServiceClient(endpoint, grpcClientCredentials(loadTls(tls, 'raw')));
  const call = client.connect();
  const refusals: Refusal[] = [];
  call.on('error', (err: { code: status; details: string }) => refusals.push([err.code, err.details]));
  call.on('data', () => undefined);
  open.push({ close: () => (call.cancel(), client.close()) });
  return { call, refusals };
}

async function until<T>(what: string, probe: () => T | undefined, ms = 8_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const first = (refusals: Refusal[]) => until('the refusal', () => refusals[0]);

function delta(over: Partial<Delta>): WireDelta {
  const d: Delta = { cluster: 'wire-a', epoch: 40, seq: 1, upserts: [{ kind: { $case: 'job', value: testJob(1, { cluster: 'wire-a' }) } }], removals: [], observed_at: '', snapshot: true, events: [], snapshot_part: 0, snapshot_parts: 0, ...over };
  return encodeForWire(d).wire;
}

describe('refusals as agents read them on the wire', () => {
  it('a certificate that is not an agent\'s', async () => {
    const { endpoint } = await serve();
    const a = agent(endpoint, await issue('client', 'someone'));
    expect(await first(a.refusals)).toEqual(EXPECTED.notAnAgent);
  });

  it('a revoked certificate, at connect and while the stream is open', async () => {
    const { endpoint, certificates } = await serve();
    const tls = await issue('agent', 'head1', 'wire-a');
    const serial = serialOf(tls);
    revoked.add(serial);
    const a = agent(endpoint, tls);
    expect(await first(a.refusals)).toEqual([EXPECTED.revokedAtConnect[0], EXPECTED.revokedAtConnect[1].replace('%serial', serial)]);
    revoked.delete(serial);
    const b = agent(endpoint, tls);
    await until('welcome', () => b.stream.connected);
    revoked.add(serial);
    certificates.endRevoked();
    expect(await first(b.refusals)).toEqual([EXPECTED.revokedWhileOpen[0], EXPECTED.revokedWhileOpen[1].replace('%serial', serial)]);
    revoked.delete(serial);
  });

  it('no hello, or another message before it', async () => {
    const { endpoint } = await serve({ helloTimeoutMs: 300 });
    const tls = await issue('agent', 'head1', 'wire-a');
    const silent = rawAgent(endpoint, tls);
    expect(await first(silent.refusals)).toEqual(EXPECTED.noHelloInTime);
    const early = rawAgent(endpoint, tls);
    early.call.write({ body: { $case: 'heartbeat', value: { sent_at: '', slurm_api_version: '', report: undefined } } });
    expect(await first(early.refusals)).toEqual(EXPECTED.firstNotHello);
  });

  it('speaking for another cluster: in the hello, in a delta', async () => {
    const { endpoint } = await serve();
    const tls = await issue('agent', 'head1', 'wire-a');
    const a = agent(endpoint, tls, { cluster: 'wire-b' });
    expect(await first(a.refusals)).toEqual(EXPECTED.wrongClusterHello);
    const b = agent(endpoint, tls, { send: [delta({ upserts: [{ kind: { $case: 'job', value: testJob(1, { cluster: 'other' }) } }] })] });
    expect(await first(b.refusals)).toEqual(EXPECTED.wrongClusterDelta);
  });

  it('a newer stream of the same agent, a live agent replacing a silent one', async () => {
    const { endpoint } = await serve();
    const tls = await issue('agent', 'head1', 'wire-a');
    const a = agent(endpoint, tls);
    await until('welcome', () => a.stream.connected);
    // The hub's clock, moved on below (the hub reads the time through Date.now).
    const realNow = Date.now.bind(Date);
    let skew = 0;
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + skew);
    const b = agent(endpoint, tls);
    expect(await first(a.refusals)).toEqual(EXPECTED.superseded);
    await until('the first snapshot acked', () => b.stream.stats.acks > 0);
    // b has been silent for longer than 3 heartbeats (10 s each) when head2 connects.
    skew = 31_000;
    const c = agent(endpoint, await issue('agent', 'head2', 'wire-a'), { name: 'head2' });
    expect(await first(b.refusals)).toEqual(EXPECTED.replacedWhileSilent);
    await until('welcome', () => c.stream.connected);
  });

  it('silence is measured on the clock ingest is given', async () => {
    const clock = new ManualClock();
    const { endpoint } = await serve({ clock });
    const a = agent(endpoint, await issue('agent', 'head1', 'wire-a'));
    // The agent's first snapshot is in (its last message before it falls silent).
    await until('the first snapshot acked', () => a.stream.stats.acks > 0);
    clock.advance(31_000);
    const b = agent(endpoint, await issue('agent', 'head2', 'wire-a'), { name: 'head2' });
    expect(await first(a.refusals)).toEqual(EXPECTED.replacedWhileSilent);
    await until('welcome', () => b.stream.connected);
  });

  it('an agent silent for the failover threshold', async () => {
    const { endpoint } = await serve({ heartbeatMs: 150, failoverThreshold: 3 });
    const a = agent(endpoint, await issue('agent', 'head1', 'wire-a'), { heartbeatMs: 60_000 });
    expect(await first(a.refusals)).toEqual(EXPECTED.silent);
  });

  it('snapshot parts that do not follow, or do not count', async () => {
    const { endpoint } = await serve();
    const tls = await issue('agent', 'head1', 'wire-a');
    const a = agent(endpoint, tls, { send: [delta({ seq: 2, snapshot_part: 2, snapshot_parts: 3 })] });
    expect(await first(a.refusals)).toEqual(EXPECTED.snapshotPartOutOfOrder);
    const b = agent(endpoint, tls, { send: [delta({ snapshot_part: 0, snapshot_parts: 2 })] });
    expect(await first(b.refusals)).toEqual(EXPECTED.snapshotPartMalformed);
    const c = agent(endpoint, tls, { send: [delta({ snapshot_part: 3, snapshot_parts: 2 })] });
    expect(await first(c.refusals)).toEqual(EXPECTED.snapshotTooManyParts);
  });

  it('a delta the hub can neither make durable nor hold in memory (its hold is full)', async () => {
    const store = { appendBatchDurable: async () => Promise.reject(new Error('disk full')), maybeCheckpoint: () => undefined };
    const { endpoint } = await serve({ store, heldLimit: 0 });
    const a = agent(endpoint, await issue('agent', 'head1', 'wire-a'), { send: [delta({})] });
    expect(await first(a.refusals)).toEqual(EXPECTED.applyFailed);
  });

  it('a malformed delta', async () => {
    const { endpoint } = await serve();
    // AgentMessage{delta} whose Delta says a 10-byte string follows and ends.
    const bytes = Uint8Array.from([0x12, 0x02, 0x0a, 0x0a]) as WireDelta;
    const a = agent(endpoint, await issue('agent', 'head1', 'wire-a'), { send: [bytes] });
    expect(await first(a.refusals)).toEqual(EXPECTED.malformedDelta);
  });
});
