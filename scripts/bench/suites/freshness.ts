// 5. Freshness: a node drained in the simulator (as `scontrol update state=drain` would) until
// the hub's watch stream (SSE, over HTTPS with a client certificate) shows it, with the agent
// polling every second. Changes land at random moments of the poll cycle. The cluster: 200 nodes,
// 2,000 jobs changing every second, served as v0.0.38 (22.05's ~3 KB per job; the simulator's
// v0.0.41 rendering is ~11 KB per job, which makes each poll's /jobs read ~0.5 s by itself).
import { sleep } from '../../../test/harness/index.js';
import { measured, percentile, round, type BenchContext, type Measured } from '../lib/context.js';
import { HubApi, type SseEvent } from '../lib/https.js';
import { startAgentChild, startHubChild, simSlurm } from '../lib/parts.js';
import { Child } from '../lib/rpc.js';
import { Prng } from '../lib/workload.js';

export async function freshnessBench(ctx: BenchContext): Promise<Measured[]> {
  const trials = ctx.quick ? 10 : 40;
  const pollMs = 1000;
  // The simulator in its own process: its rendering must not delay our reading of the watch stream.
  const sim = await Child.start<{ url: string }>('sim', { listen: '127.0.0.1:0', cluster: 'fresh', nodes: 200, jobs: 2000, apiVersion: 'v0.0.38' });
  const hub = await startHubChild(ctx, 'fresh-hub');
  const agent = await startAgentChild(ctx, { cluster: 'fresh', hubs: [hub.ready.grpc], slurm: simSlurm(sim.ready.url), pollInterval: `${pollMs}ms` });
  const api = new HubApi(hub.ready.http, ctx.pki.client, 2);
  const waiting = new Map<string, (e: SseEvent) => void>();
  const watch = await api.watch('cluster=fresh&kinds=node', (e) => {
    if (e.event !== 'upsert') return;
    const data = JSON.parse(e.data) as { id: string; object: { reason: string } };
    const done = waiting.get(`${data.id}|${data.object.reason}`);
    if (done) done(e);
  });
  try {
    await agent.call('settle', { timeoutMs: 60_000 });
    const rng = new Prng(3);
    const nodes = await sim.call<string[]>('nodes');
    const latencies: number[] = [];
    for (let i = 0; i < trials; i++) {
      await sleep(rng.int(0, pollMs));
      const node = nodes[rng.int(0, nodes.length - 1)];
      const reason = `bench ${i}`;
      const seen = new Promise<SseEvent>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`freshness: ${node} drained, not seen in 30 s`)), 30_000);
        waiting.set(`${node}|${reason}`, (e) => {
          clearTimeout(timer);
          resolve(e);
        });
      });
      const t0 = Date.now();
      await sim.call('drain', { node, reason });
      const e = await seen;
      latencies.push(e.at - t0);
      waiting.delete(`${node}|${reason}`);
      await sim.call('resume', { node });
    }
    latencies.sort((a, b) => a - b);
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    ctx.log(`freshness: ${trials} changes, poll ${pollMs} ms: p50 ${p50} ms, p99 ${p99} ms (all: ${latencies.join(" ")})`);
    return [
      measured(ctx, 'freshness_p50_ms', round(p50, 0), 'ms', { note: `${trials} node drains, agent poll ${pollMs} ms` }),
      measured(ctx, 'freshness_p99_ms', round(p99, 0), 'ms', { target: `<= ${pollMs + 250}`, met: p99 <= pollMs + 250, note: 'simulator change -> hub SSE watch event' }),
    ];
  } finally {
    watch.close();
    api.close();
    await agent.stop();
    await hub.stop();
    await sim.stop();
  }
}
