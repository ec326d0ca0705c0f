// Simulated agents for the ingest benchmark: one mutual-TLS AgentService stream per cluster, each
// with its own agent certificate, speaking the agent protocol (hello, snapshot, deltas in seq
// order, at most `window` unacked) with frames encoded once up front (lib/wire.ts), so the
// sender spends its CPU on the transport, not on protobuf. The same frames go to the raw sink
// and to the real hub: the two runs differ only in what the receiver does with them.
import { randomBytes } from 'node:crypto';
import { Client, Metadata, type ClientDuplexStream } from '@grpc/grpc-js';
import { loadTls, grpcClientCredentials, type TlsFiles } from '../../../shared/tls/index.js';
import { refOf } from '../../../shared/delta/index.js';
import { childArgs, serve } from '../lib/rpc.js';
import { changeJob, changeNode, Prng, renameModel, simulatedModel } from '../lib/workload.js';
import { decodeHubMessage, deltaMessage, encodeDeltaBody, heartbeatMessage, helloMessage } from '../lib/wire.js';
import { KINDS, wrapObject } from '../../../shared/model/index.js';
import type { ClusterModel, FleetObject } from '../../../shared/model/index.js';

interface FeederArgs {
  clusters: { name: string; tls: TlsFiles }[];
  nodes: number;
  jobs: number;
  /** Updates per delta; a tenth of them nodes. */
  updatesPerDelta: number;
  /** Distinct change bodies per cluster, streamed round robin. */
  bodies: number;
  /** Removals per delta (jobs that ended and were purged), re-added by the next body. */
  removals: number;
}

interface Stream {
  name: string;
  tls: TlsFiles;
  /** Snapshot body (every object), framed with the stream's epoch when it is sent. */
  snapshotBody: Buffer;
  bodies: { body: Buffer; updates: number }[];
  client?: Client;
  call?: ClientDuplexStream<Buffer, Buffer>;
  epoch: number;
  seq: number;
  acked: number;
  onAck?: () => void;
  /** Why the hub ended the stream, once it has: waits for acks fail with it instead of hanging. */
  ended?: Error;
  onEnd?: (err: Error) => void;
  beat?: NodeJS.Timeout;
}

const args = childArgs<FeederArgs>();
const identity = (b: Buffer): Buffer => b;
const observedAt = new Date().toISOString();

function snapshotUpserts(model: ClusterModel): FleetObject[] {
  const out: FleetObject[] = [];
  for (const kind of KINDS) for (const o of model[kind]) out.push(wrapObject(kind, o as never));
  return out;
}

function build(): Stream[] {
  const distinct = new Map<number, ClusterModel>();
  return args.clusters.map((c, i) => {
    const seed = (i % 8) + 1;
    let base = distinct.get(seed);
    if (!base) distinct.set(seed, (base = simulatedModel({ name: 'base', nodes: args.nodes, jobs: args.jobs, seed })));
    const model = renameModel(base, c.name);
    const rng = new Prng(1000 + i);
    const bodies: Stream['bodies'] = [];
    const nodeUpdates = Math.round(args.updatesPerDelta / 10);
    const jobUpdates = args.updatesPerDelta - nodeUpdates;
    for (let b = 0; b < args.bodies; b++) {
      const upserts = [];
      const start = rng.int(0, Math.max(0, model.job.length - jobUpdates));
      for (let k = 0; k < jobUpdates; k++) upserts.push(wrapObject('job', changeJob(model.job[(start + k) % model.job.length], rng, model.node, observedAt)));
      for (let k = 0; k < nodeUpdates; k++) upserts.push(wrapObject('node', changeNode(model.node[rng.int(0, model.node.length - 1)], rng)));
      // Removals name jobs the body does not upsert; the next body upserts them again.
      const removals = [];
      for (let k = 0; k < args.removals; k++) removals.push(refOf('job', String(model.job[(start + jobUpdates + k) % model.job.length].id)));
      bodies.push({ body: encodeDeltaBody(upserts, removals, observedAt), updates: upserts.length + removals.length });
    }
    const snapshotBody = encodeDeltaBody(snapshotUpserts(model), [], observedAt, true);
    return { name: c.name, tls: c.tls, snapshotBody, bodies, epoch: Date.now() * 1000 + i, seq: 0, acked: 0 };
  });
}

const built = Date.now();
const streams = build();
const buildMs = Date.now() - built;

function open(s: Stream, address: string): Promise<void> {
  s.seq = 0;
  s.acked = 0;
  s.epoch++;
  s.client = new Client(address, grpcClientCredentials(loadTls(s.tls, 'feeder')), {
    'grpc.max_send_message_length': 256 * 1024 * 1024,
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
  const call = s.client.makeBidiStreamRequest('/fleet.v1.AgentService/Connect', identity, identity, new Metadata());
  s.call = call;
  return new Promise((resolve, reject) => {
    call.on('data', (raw: Buffer) => {
      if (s.call !== call) return;
      const body = decodeHubMessage(raw).body;
      if (body?.$case === 'welcome') resolve();
      else if (body?.$case === 'ack') {
        s.acked = body.value.seq;
        s.onAck?.();
      } else if (body?.$case === 'snapshot_request') reject(new Error(`hub asked ${s.name} for a snapshot: ${body.value.reason}`));
    });
    const ended = (err: Error): void => {
      // A call this feeder closed or replaced (a connect to another hub) ends later: not news.
      if (s.call !== call) return;
      s.ended ??= err;
      clearInterval(s.beat);
      s.onEnd?.(s.ended);
      reject(s.ended);
    };
    call.on('error', (err) => ended(new Error(`${s.name}: the hub ended the stream: ${err.message}`)));
    call.on('end', () => ended(new Error(`${s.name}: the hub ended the stream`)));
    s.ended = undefined;
    call.write(helloMessage(s.name, `agent-${s.name}`));
    // Like an agent, beat every second: while the hub works through a large snapshot the feeder
    // only waits for acks, and a hub ends a stream it has not heard from for 3 heartbeats.
    clearInterval(s.beat);
    s.beat = setInterval(() => call.write(heartbeatMessage()), 1000);
  });
}

function waitAcked(s: Stream, seq: number): Promise<void> {
  if (s.acked >= seq) return Promise.resolve();
  if (s.ended) return Promise.reject(s.ended);
  return new Promise((resolve, reject) => {
    s.onEnd = reject;
    s.onAck = () => {
      if (s.acked >= seq) {
        s.onAck = undefined;
        s.onEnd = undefined;
        resolve();
      }
    };
  });
}

async function sendSnapshot(s: Stream): Promise<void> {
  s.seq = 1;
  s.call!.write(deltaMessage(s.name, s.epoch, 1, s.snapshotBody));
  await waitAcked(s, 1);
}

/** A sampled W3C traceparent of a new trace, as a traced poll's delta carries. */
function newTraceparent(): string {
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
}

/**
 * Streams deltas on every stream until durationMs, keeping `window` unacked; waits for the last
 * acks. `tracedEvery`: every Nth delta carries a traceparent (an agent sampling 1 poll in N).
 */
async function stream(durationMs: number, window: number, tracedEvery = 0): Promise<{ updates: number; deltas: number; traced: number; bytes: number; ms: number }> {
  const t0 = process.hrtime.bigint();
  const deadline = Date.now() + durationMs;
  let updates = 0;
  let deltas = 0;
  let traced = 0;
  let bytes = 0;
  await Promise.all(
    streams.map(
      (s) =>
        new Promise<void>((resolve, reject) => {
          if (s.ended) return reject(s.ended);
          s.onEnd = reject;
          let next = 0;
          const pump = (): void => {
            while (s.seq - s.acked < window && Date.now() < deadline) {
              const { body, updates: n } = s.bodies[next++ % s.bodies.length];
              const trace = tracedEvery > 0 && (deltas + 1) % tracedEvery === 0;
              if (trace) traced++;
              const frame = deltaMessage(s.name, s.epoch, ++s.seq, body, trace ? newTraceparent() : undefined);
              s.call!.write(frame);
              updates += n;
              deltas++;
              bytes += frame.length;
            }
            if (Date.now() >= deadline && s.acked >= s.seq) {
              s.onAck = undefined;
              s.onEnd = undefined;
              resolve();
            }
          };
          s.onAck = pump;
          pump();
          // A stream whose window is full when the deadline passes resolves on its last ack.
        }),
    ),
  );
  return { updates, deltas, traced, bytes, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
}

serve(
  {
    connect: async ({ address }: { address: string }) => {
      const t0 = Date.now();
      await Promise.all(streams.map((s) => open(s, address)));
      await Promise.all(streams.map((s) => sendSnapshot(s)));
      return { ms: Date.now() - t0, snapshotBytes: streams.reduce((n, s) => n + s.snapshotBody.length, 0) };
    },
    stream: ({ durationMs, window, tracedEvery }: { durationMs: number; window: number; tracedEvery?: number }) => stream(durationMs, window, tracedEvery),
    close: () => {
      for (const s of streams) {
        clearInterval(s.beat);
        const call = s.call;
        s.call = undefined;
        call?.end();
        s.client?.close();
      }
      return {};
    },
    stop: () => {
      setImmediate(() => process.exit(0));
      return {};
    },
  },
  { buildMs, bodyBytes: streams[0].bodies[0].body.length, updatesPerBody: streams[0].bodies[0].updates },
);
