// 1. Ingest: simulated agents stream job/node deltas over mutual-TLS gRPC into one real hub
// (decode, identity check, seq order, WAL fsync, apply, indexes, watch feed, ack). Then the same
// frames into a grpc-js sink that only acks: the transport ceiling. Both are counted per second
// of the receiving process's own CPU time (/proc/<pid>/stat), i.e. per hub core.
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { measured, round, type BenchContext, type Measured } from '../lib/context.js';
import { cpuSeconds } from '../lib/proc.js';
import { Child } from '../lib/rpc.js';

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

async function measure(ctx: BenchContext, feeder: Child, receiverPid: number, address: string, seconds: number, window: number): Promise<Run> {
  await feeder.call('connect', { address });
  await feeder.call('stream', { durationMs: 1000, window }); // warm-up: JIT, TLS, buffers
  const cpu0 = cpuSeconds(receiverPid);
  const r = await feeder.call<StreamResult>('stream', { durationMs: seconds * 1000, window });
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
    return [
      measured(ctx, 'ingest_updates_per_s_per_core', Math.round(real.perCore), 'updates/s', { target: '>= 250000', met: real.perCore >= 250_000, note: `${Math.round(real.perWallSecond)}/s wall, ${clusters} streams` }),
      measured(ctx, 'ingest_raw_updates_per_s_per_core', Math.round(raw.perCore), 'updates/s', { note: `${Math.round(raw.perWallSecond)}/s wall` }),
      measured(ctx, 'ingest_vs_raw_ratio', round(ratio, 3), 'fraction', { target: '>= 0.5', met: ratio >= 0.5 }),
    ];
  } finally {
    await feeder.stop();
  }
}
