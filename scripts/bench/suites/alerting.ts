// Issue 13's benchmark, two figures:
// 1. Slurm change -> notification received: a node set DOWN in the simulator (as `scontrol update
//    nodename=X state=down` would) until a local webhook receiver gets the node_down notification
//    of the hub's built-in rule. The agent polls every second, the rule's `for:` and group_wait are
//    0 (so the figure is the pipeline: poll, ingest, evaluation, delivery), each node its own
//    group. Changes land at random moments of the poll cycle.
// 2. The built-in rules' cost on ingest: the ingest of benchmark 1 (suites/ingest.ts) into two
//    hubs side by side, one with every built-in rule on (the default) and one with all turned off,
//    rounds alternating so that load from elsewhere falls on both; per hub core, on / off.
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { BUILTIN_RULES } from '../../../hub/alerting/rules/builtin.js';
import { sleep } from '../../../test/harness/index.js';
import { fullSizeTarget, measured, percentile, round, type BenchContext, type Measured } from '../lib/context.js';
import { startAgentChild, simSlurm, type HubReady } from '../lib/parts.js';
import { cpuSeconds } from '../lib/proc.js';
import { Child } from '../lib/rpc.js';
import { Prng } from '../lib/workload.js';

export async function alertingBench(ctx: BenchContext): Promise<Measured[]> {
  return [...(await notificationLatency(ctx)), await rulesIngestRatio(ctx)];
}

interface Received {
  at: number;
  status: string;
  alerts: { status: string; labels: Record<string, string> }[];
}

/** A webhook receiver: every notification's arrival time and body. */
async function receiver(onNotification: (n: Received) => void): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = Date.now();
      res.writeHead(200).end();
      try {
        onNotification({ at, ...(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Omit<Received, 'at'>) });
      } catch {
        // Not a notification: nothing to time.
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` };
}

async function notificationLatency(ctx: BenchContext): Promise<Measured[]> {
  const trials = ctx.quick ? 8 : 40;
  const pollMs = 1000;
  const evaluationMs = 250;
  const waiting = new Map<string, (at: number) => void>();
  const hook = await receiver((n) => {
    if (n.status !== 'firing') return;
    for (const a of n.alerts) if (a.labels.alertname === 'node_down' && a.status === 'firing') waiting.get(a.labels.node)?.(n.at);
  });
  // No random node failures: a node the simulator had already failed would be paging before its trial.
  const sim = await Child.start<{ url: string }>('sim', { listen: '127.0.0.1:0', cluster: 'alerts', nodes: 200, jobs: 2000, apiVersion: 'v0.0.38', nodeFailurePerHour: 0 });
  const hub = await Child.start<HubReady>(
    'hub',
    {
      hub_id: 'alert-hub',
      listen: { grpc: '127.0.0.1:0', http: '127.0.0.1:0' },
      tls: ctx.pki.hub,
      data_dir: mkdtempSync(join(ctx.workDir, 'alert-hub-')),
      alerting: {
        channels: [{ type: 'webhook', url: hook.url, rate_limit: 600, retries: 0 }],
        policies: { warning: { escalation_time: '30m', channels: ['webhook'] }, critical: { escalation_time: '30m', channels: ['webhook'] } },
        // Each node its own group, notified at once: the figure is the path, not a chosen wait.
        group_by: ['alertname', 'cluster', 'node'],
        group_wait: '0s',
        keep_firing_for: '0s',
        evaluation_interval: `${evaluationMs}ms`,
        rules: { node_down: { for: '0s' } },
      },
    },
    { timeoutMs: 300_000 },
  );
  const agent = await startAgentChild(ctx, { cluster: 'alerts', hubs: [hub.ready.grpc], slurm: simSlurm(sim.ready.url), pollInterval: `${pollMs}ms` });
  try {
    await agent.call('settle', { timeoutMs: 60_000 });
    const rng = new Prng(13);
    const nodes = await sim.call<string[]>('upNodes');
    const latencies: number[] = [];
    for (let i = 0; i < trials; i++) {
      await sleep(rng.int(0, pollMs));
      // A node not used before: its group is new, so its first notification is the one timed.
      const node = nodes.splice(rng.int(0, nodes.length - 1), 1)[0];
      const received = new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`alerting: ${node} down, no notification in 30 s`)), 30_000);
        waiting.set(node, (at) => {
          clearTimeout(timer);
          resolve(at);
        });
      });
      const t0 = Date.now();
      await sim.call('down', { node, reason: `bench ${i}` });
      latencies.push((await received) - t0);
      waiting.delete(node);
      await sim.call('resume', { node });
    }
    latencies.sort((a, b) => a - b);
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    ctx.log(`alerting: ${trials} nodes down, poll ${pollMs} ms, evaluation ${evaluationMs} ms: p50 ${p50} ms, p99 ${p99} ms (all: ${latencies.join(' ')})`);
    const note = `simulator node DOWN -> webhook received; poll ${pollMs} ms, group_wait 0, for: 0, evaluation_interval ${evaluationMs} ms`;
    return [
      measured(ctx, 'alert_notify_p50_ms', round(p50, 0), 'ms', { note }),
      measured(ctx, 'alert_notify_p99_ms', round(p99, 0), 'ms', { target: `<= ${pollMs + 1000}`, met: p99 <= pollMs + 1000, note: `${trials} trials` }),
    ];
  } finally {
    await agent.stop();
    await hub.stop();
    await sim.stop();
    hook.server.close();
  }
}

interface StreamResult {
  updates: number;
}

/**
 * Ingest per hub core with the built-in rules on over all of them off. Both hubs hold the whole
 * simulated fleet (full size: 1M jobs, 200k nodes) and evaluate at the default interval (5 s).
 * Each hub has its own feeder, connected once (one snapshot per hub: at full size a snapshot
 * takes minutes to load); rounds then alternate between the hubs, long enough to span evaluations.
 */
async function rulesIngestRatio(ctx: BenchContext): Promise<Measured> {
  // Full size: 100 clusters of 2,000 nodes and 10,000 jobs (as the fleet benchmark).
  const clusters = ctx.quick ? 4 : 100;
  const nodes = ctx.quick ? 1000 : 2000;
  const jobs = 10_000;
  const rounds = ctx.quick ? 1 : 3;
  const seconds = ctx.quick ? 6 : 15;
  const window = 32;
  const names = Array.from({ length: clusters }, (_, i) => `rules-${i + 1}`);
  const tls = await Promise.all(names.map(async (name) => ({ name, tls: await ctx.pki.agent(name) })));
  const feeder = () =>
    Child.start<{ updatesPerBody: number }>('feeder', { clusters: tls, nodes, jobs, updatesPerDelta: 1000, bodies: 8, removals: 10 }, { execArgv: ['--max-old-space-size=8192'], timeoutMs: 600_000 });
  const off = Object.fromEntries(Object.keys(BUILTIN_RULES).map((name) => [name, { enabled: false }]));
  const start = (name: string, rules: Record<string, unknown>) =>
    Child.start<{ grpc: string }>(
      'hub',
      // A long heartbeat: with the rules on, a hub reading 100 snapshots of 10,000 jobs at once on
      // 2 cores does not finish one message of every agent within 3 default heartbeats (15 s), and
      // ends streams that are still sending (a known gap, noted on issue 13: bytes arriving are not
      // counted as the agent being alive). This figure is the rules' cost on ingest, not that.
      { hub_id: name, listen: { grpc: '127.0.0.1:0', http: '127.0.0.1:0' }, tls: ctx.pki.hub, data_dir: mkdtempSync(join(ctx.workDir, `${name}-`)), alerting: { rules }, stream: { heartbeat_interval: '60s' } },
      { execArgv: ['--max-old-space-size=8192'], timeoutMs: 600_000 },
    );
  const pooled = { on: { updates: 0, cpu: 0 }, off: { updates: 0, cpu: 0 } };
  const children: Child<unknown>[] = [];
  try {
    // Each child is stopped at the end even when a later one fails to start.
    const track = <T extends Child<unknown>>(c: T): T => (children.push(c), c);
    const pairs = {
      on: { hub: track(await start('bench-rules-on', {})), feeder: track(await feeder()) },
      off: { hub: track(await start('bench-rules-off', off)), feeder: track(await feeder()) },
    };
    for (const which of ['off', 'on'] as const) {
      const t0 = Date.now();
      // The snapshot of every cluster: the hub holds the whole fleet while measured.
      await pairs[which].feeder.call('connect', { address: pairs[which].hub.ready.grpc });
      await pairs[which].feeder.call('stream', { durationMs: 1000, window });
      ctx.log(`alerting rules ingest: hub ${which} loaded ${clusters * jobs} jobs in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    }
    for (let r = 0; r < rounds; r++) {
      for (const which of ['off', 'on'] as const) {
        const { hub, feeder: f } = pairs[which];
        const cpu0 = cpuSeconds(hub.pid);
        const s = await f.call<StreamResult>('stream', { durationMs: seconds * 1000, window });
        const cpu = cpuSeconds(hub.pid) - cpu0;
        pooled[which].updates += s.updates;
        pooled[which].cpu += cpu;
        ctx.log(`alerting rules ingest round ${r + 1} ${which}: ${Math.round(s.updates / cpu)} updates/s per core`);
      }
    }
    for (const p of Object.values(pairs)) await p.feeder.call('close');
  } finally {
    for (const c of children.reverse()) await c.stop();
  }
  const onRate = pooled.on.updates / pooled.on.cpu;
  const offRate = pooled.off.updates / pooled.off.cpu;
  const ratio = onRate / offRate;
  const size = `${clusters * jobs} jobs, ${clusters * nodes} nodes`;
  ctx.log(`alerting: ingest with the built-in rules ${Math.round(onRate)} vs off ${Math.round(offRate)} updates/s per core (x${ratio.toFixed(3)}) at ${size}`);
  return measured(ctx, 'alert_rules_ingest_ratio', round(ratio, 3), 'fraction', { ...fullSizeTarget(ctx, '>= 0.9', ratio >= 0.9), note: `${Math.round(onRate)} vs ${Math.round(offRate)} updates/s per core at ${size}; evaluation every 5 s` });
}
