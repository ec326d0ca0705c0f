// 1. Ingest: simulated agents stream job/node deltas over mutual-TLS gRPC into one real hub
// (decode, identity check, seq order, WAL fsync, apply, indexes, watch feed, ack). Then the same
// frames into a grpc-js sink that only acks: the transport ceiling. Both are counted per second
// of the receiving process's own CPU time (/proc/<pid>/stat), i.e. per hub core.
// 2. Tracing (issue 15): the same ingest into a hub with tracing on (sampling 1%, one delta in 100
// carrying its poll's traceparent, spans exported to a local OTLP/HTTP receiver) against a hub
// with tracing off, in alternating rounds of one run: on / off at least 0.95.
// 3. Replication encryption (issue 11): the same with redis.encrypt_replication on against off
// (ingest-replication.ts): at least 0.9.
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { measured, round, type BenchContext, type Measured } from '../lib/context.js';
import { cpuSeconds } from '../lib/proc.js';
import { Child } from '../lib/rpc.js';
import { replicationEncryptionRatio } from './ingest-replication.js';

interface StreamResult {
  updates: number;
  deltas: number;
  bytes: number;
  ms: number;
}

interface Run {
  updates: number;
  cpu: number;
  wallMs: number;
  perCore: number;
  perWallSecond: number;
}

async function measure(ctx: BenchContext, feeder: Child, receiverPid: number, address: string, seconds: number, window: number, tracedEvery = 0): Promise<Run> {
  await feeder.call('connect', { address });
  await feeder.call('stream', { durationMs: 1000, window, tracedEvery }); // warm-up: JIT, TLS, buffers
  const cpu0 = cpuSeconds(receiverPid);
  const r = await feeder.call<StreamResult>('stream', { durationMs: seconds * 1000, window, tracedEvery });
  const cpu = cpuSeconds(receiverPid) - cpu0;
  await feeder.call('close');
  return { updates: r.updates, cpu, wallMs: r.ms, perCore: r.updates / cpu, perWallSecond: r.updates / (r.ms / 1000) };
}

export async function ingestBench(ctx: BenchContext): Promise<Measured[]> {
  const clusters = ctx.quick ? 4 : 8;
  const seconds = ctx.quick ? 2 : 12;
  const window = 32;
  const names = Array.from({ length: clusters }, (_, i) => `ingest-${i + 1}`);
  const feeder = await Child.start<{ buildMs: number; bodyBytes: number; updatesPerBody: number }>('feeder', {
    clusters: await Promise.all(names.map(async (name) => ({ name, tls: await ctx.pki.agent(name) }))),
    nodes: 1000,
    jobs: 10_000,
    updatesPerDelta: 1000,
    bodies: 8,
    removals: 10,
  });
  const execArgv = ctx.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(ctx.workDir, 'profiles')}`] : [];
  try {
    ctx.log(`ingest: ${clusters} simulated agents, deltas of ${feeder.ready.updatesPerBody} updates (${Math.round(feeder.ready.bodyBytes / 1024)} KiB), ${seconds} s each`);
    const sink = await Child.start<{ grpc: string }>('raw-sink', { listen: '127.0.0.1:0', tls: ctx.pki.hub }, { execArgv });
    let raw: Run;
    try {
      raw = await measure(ctx, feeder, sink.pid, sink.ready.grpc, seconds, window);
    } finally {
      await sink.stop();
    }
    ctx.log(`ingest: raw transport ${Math.round(raw.perCore)} updates/s per core (${raw.cpu.toFixed(2)} CPU s, ${Math.round(raw.perWallSecond)}/s wall)`);
    const dataDir = mkdtempSync(join(ctx.workDir, 'ingest-hub-'));
    const hub = await Child.start<{ grpc: string }>(
      'hub',
      { hub_id: 'bench-ingest', listen: { grpc: '127.0.0.1:0', http: '127.0.0.1:0' }, tls: ctx.pki.hub, data_dir: dataDir },
      { execArgv },
    );
    let real: Run;
    try {
      real = await measure(ctx, feeder, hub.pid, hub.ready.grpc, seconds, window);
    } finally {
      await hub.stop();
    }
    ctx.log(`ingest: hub ${Math.round(real.perCore)} updates/s per core (${real.cpu.toFixed(2)} CPU s, ${Math.round(real.perWallSecond)}/s wall)`);
    const ratio = real.perCore / raw.perCore;
    const tracing = await tracingRatio(ctx, feeder, execArgv, window);
    const sealing = await replicationEncryptionRatio(ctx, execArgv, (h, s) => measure(ctx, feeder, h.pid, h.ready.grpc, s, window));
    return [
      measured(ctx, 'ingest_updates_per_s_per_core', Math.round(real.perCore), 'updates/s', { target: '>= 250000', met: real.perCore >= 250_000, note: `${Math.round(real.perWallSecond)}/s wall, ${clusters} streams` }),
      measured(ctx, 'ingest_raw_updates_per_s_per_core', Math.round(raw.perCore), 'updates/s', { note: `${Math.round(raw.perWallSecond)}/s wall` }),
      measured(ctx, 'ingest_vs_raw_ratio', round(ratio, 3), 'fraction', { target: '>= 0.5', met: ratio >= 0.5 }),
      tracing,
      sealing,
    ];
  } finally {
    await feeder.stop();
  }
}

/** A local OTLP/HTTP receiver that takes every export (the spans' cost on the hub is what is measured). */
async function otlpSink(): Promise<{ server: Server; url: string; requests: () => number; bytes: () => number }> {
  let requests = 0;
  let bytes = 0;
  const server = createServer((req, res) => {
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.on('end', () => {
      requests++;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests: () => requests, bytes: () => bytes };
}

/**
 * Ingest per hub core with tracing on at 1% over tracing off. Two hubs run side by side; rounds
 * alternate between them (off first, then on) so that load from elsewhere on the machine falls on
 * both, and the updates and CPU seconds of each are pooled.
 */
async function tracingRatio(ctx: BenchContext, feeder: Child, execArgv: string[], window: number): Promise<Measured> {
  const rounds = ctx.quick ? 1 : 3;
  const seconds = ctx.quick ? 2 : 6;
  const sink = await otlpSink();
  const start = (name: string, tracing: boolean) =>
    Child.start<{ grpc: string }>(
      'hub',
      {
        hub_id: name,
        listen: { grpc: '127.0.0.1:0', http: '127.0.0.1:0' },
        tls: ctx.pki.hub,
        data_dir: mkdtempSync(join(ctx.workDir, `${name}-`)),
        ...(tracing ? { observability: { tracing: { jaeger: { enabled: true, endpoint: sink.url, sampling_ratio: 0.01 } } } } : {}),
      },
      { execArgv },
    );
  const off = await start('bench-trace-off', false);
  const on = await start('bench-trace-on', true);
  const pooled = { off: { updates: 0, cpu: 0 }, on: { updates: 0, cpu: 0 } };
  try {
    for (let r = 0; r < rounds; r++) {
      const a = await measure(ctx, feeder, off.pid, off.ready.grpc, seconds, window);
      const b = await measure(ctx, feeder, on.pid, on.ready.grpc, seconds, window, 100);
      pooled.off.updates += a.updates;
      pooled.off.cpu += a.cpu;
      pooled.on.updates += b.updates;
      pooled.on.cpu += b.cpu;
      ctx.log(`ingest tracing round ${r + 1}: off ${Math.round(a.perCore)}, on ${Math.round(b.perCore)} updates/s per core`);
    }
  } finally {
    await on.stop();
    await off.stop();
  }
  // The hub's batch processor flushes on stop: spans reached the receiver, so tracing was really on.
  const exports = sink.requests();
  const kib = Math.round(sink.bytes() / 1024);
  sink.server.close();
  const offRate = pooled.off.updates / pooled.off.cpu;
  const onRate = pooled.on.updates / pooled.on.cpu;
  const ratio = onRate / offRate;
  ctx.log(`ingest: tracing at 1% ${Math.round(onRate)} vs off ${Math.round(offRate)} updates/s per core (x${ratio.toFixed(3)}); OTLP receiver took ${exports} exports, ${kib} KiB`);
  if (exports === 0) throw new Error('tracing bench: the OTLP receiver got no spans; the traced hub did not trace');
  return measured(ctx, 'ingest_tracing_1pct_ratio', round(ratio, 3), 'fraction', { target: '>= 0.95', met: ratio >= 0.95, note: `${Math.round(onRate)} vs ${Math.round(offRate)} updates/s per core; ${exports} OTLP exports` });
}
