// The simulator at scale: building a 10,000-node, 100,000-job cluster and ticking it once a
// second. Each tick must cost O(what changed), not O(jobs): the demo and the scale benchmarks tick
// such clusters live, beside a hub, on the same cores.
import { SimEngine } from '../../../sim/index.js';
import { measured, round, type BenchContext, type Measured } from '../lib/context.js';

export async function simScaleBench(ctx: BenchContext): Promise<Measured[]> {
  let now = Date.parse('2026-01-05T08:00:00Z');
  const t0 = performance.now();
  const engine = new SimEngine({ cluster: 'big', nodes: 10_000, jobs: 100_000, seed: 5, nodeFailurePerHour: 5 }, { clock: { now: () => now } });
  const buildMs = performance.now() - t0;
  const ticks = ctx.quick ? 20 : 120;
  const t1 = performance.now();
  for (let i = 0; i < ticks; i++) engine.tick((now += 1000));
  const tickMs = (performance.now() - t1) / ticks;
  ctx.log(`sim-scale: ${engine.jobCount} jobs on 10,000 nodes built in ${Math.round(buildMs)} ms; ${ticks} ticks of 1 s at ${tickMs.toFixed(2)} ms each`);
  return [
    measured(ctx, 'sim_build_100k_jobs_ms', Math.round(buildMs), 'ms', { target: '<= 8000', met: buildMs <= 8000 }),
    measured(ctx, 'sim_tick_100k_jobs_ms', round(tickMs, 2), 'ms', { target: '<= 50', met: tickMs <= 50, note: `mean of ${ticks} one-second ticks` }),
  ];
}
