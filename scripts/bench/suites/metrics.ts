// Issue 15, metrics at scale, in one process (the hub's own createHubMetrics over a FleetState):
// - the fleet series served at 100k jobs over 10 clusters, 500 accounts and 50 partitions
//   (target: at most 10,000, the cardinality guard's default 20,000 leaving room);
// - one scrape (the registry rendered to text, as GET /metrics does) at 1M jobs: at most 250 ms;
// - the p99 of a fleet read (a page of one user's jobs) with scrapes running between reads,
//   against the same reads without: raised by at most 10%. Both run on one event loop, as in the
//   hub, so a scrape that blocks shows in the reads' tail.
// Quick mode runs 20k jobs throughout: seconds, the targets shown but not judged.
import { performance } from 'node:perf_hooks';
import { jobDelta, testJob } from '../../../shared/delta/testdata/fleet-fixtures.js';
import { ManualClock } from '../../../shared/clock/index.js';
import { FleetState } from '../../../hub/fleet/index.js';
import { AgentReports } from '../../../hub/ingest/index.js';
import { newIngestStats } from '../../../hub/ingest/stats.js';
import { createHubMetrics } from '../../../hub/metrics/index.js';
import { fullSizeTarget, measured, percentile, round, type BenchContext, type Measured } from '../lib/context.js';

const CLUSTERS = 10;
const ACCOUNTS = 500;
const PARTITIONS = 50;
const STATES = ['PENDING', 'RUNNING', 'COMPLETED', 'FAILED'] as const;

function fleetOf(jobs: number): FleetState {
  const clock = new ManualClock(0);
  const state = new FleetState({ clock });
  const perCluster = Math.ceil(jobs / CLUSTERS);
  for (let c = 0; c < CLUSTERS; c++) {
    const cluster = `bench-${c}`;
    const list = [];
    for (let i = 0; i < perCluster; i++) {
      const n = c * perCluster + i;
      list.push(testJob(i + 1, { cluster, account: `acct-${n % ACCOUNTS}`, partition: `part-${n % PARTITIONS}`, user: `user-${n % 2000}`, state: STATES[n % STATES.length], state_reason: n % 4 === 0 ? `Reason${n % 13}` : 'None' }));
    }
    state.apply({ ...jobDelta(list, { snapshot: true }), cluster });
  }
  return state;
}

/** The hub's metrics over `state`; scrape() as Prometheus does, 15 s after the last (the fleet tally is made anew). */
function metricsOf(state: FleetState): { scrape: () => Promise<string> } {
  const clock = new ManualClock(0);
  const { registry } = createHubMetrics({ state, ingest: { stats: newIngestStats(), reports: new AgentReports(clock) }, clock });
  return {
    scrape: () => {
      clock.advance(15_000);
      return registry.metrics();
    },
  };
}

/** A page of 100 jobs of one user out of one cluster: what a list request reads. */
function readPage(state: FleetState, i: number): number {
  const jobs = state.clusters.get(`bench-${i % CLUSTERS}`)!.objects.job;
  const user = `user-${i % 2000}`;
  let found = 0;
  for (const j of jobs.values()) if (j.user === user && ++found === 100) break;
  return found;
}

async function readsP99(state: FleetState, reads: number, during?: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  let scraping = Promise.resolve() as Promise<unknown>;
  for (let i = 0; i < reads; i++) {
    // A scrape starts every 20 reads and runs interleaved with them (as a concurrent HTTP request would).
    if (during && i % 20 === 0) scraping = scraping.then(during);
    const t0 = performance.now();
    await new Promise<void>((resolve) => setImmediate(resolve));
    readPage(state, i);
    times.push(performance.now() - t0);
  }
  await scraping;
  return percentile(times.sort((a, b) => a - b), 99);
}

export async function metricsBench(ctx: BenchContext): Promise<Measured[]> {
  const seriesJobs = ctx.quick ? 20_000 : 100_000;
  const scrapeJobs = ctx.quick ? 20_000 : 1_000_000;
  const out: Measured[] = [];

  const small = metricsOf(fleetOf(seriesJobs));
  const text = await small.scrape();
  const served = Number(/^sfleet_metrics_fleet_series\{kind="served"\} (\d+)/m.exec(text)?.[1] ?? NaN);
  ctx.log(`metrics: ${served} fleet series served at ${seriesJobs} jobs (${CLUSTERS} clusters, ${ACCOUNTS} accounts, ${PARTITIONS} partitions)`);
  out.push(measured(ctx, 'metrics_fleet_series_100k_jobs', served, 'series', fullSizeTarget(ctx, '<= 10,000', served <= 10_000)));

  const state = fleetOf(scrapeJobs);
  const big = metricsOf(state);
  await big.scrape(); // warm-up: JIT
  const scrapes: number[] = [];
  for (let i = 0; i < (ctx.quick ? 3 : 5); i++) {
    const t0 = performance.now();
    await big.scrape();
    scrapes.push(performance.now() - t0);
  }
  const scrapeMs = Math.max(...scrapes);
  ctx.log(`metrics: scrape at ${scrapeJobs} jobs: worst of ${scrapes.length} ${scrapeMs.toFixed(1)} ms`);
  out.push(measured(ctx, 'metrics_scrape_1m_jobs_ms', round(scrapeMs, 1), 'ms', fullSizeTarget(ctx, '<= 250', scrapeMs <= 250)));

  const reads = ctx.quick ? 200 : 4_000;
  const quiet = await readsP99(state, reads);
  const busy = await readsP99(state, reads, () => big.scrape());
  const ratio = busy / quiet;
  ctx.log(`metrics: read p99 ${quiet.toFixed(2)} ms alone, ${busy.toFixed(2)} ms with scrapes (x${ratio.toFixed(2)})`);
  out.push(measured(ctx, 'metrics_scrape_query_p99_ratio', round(ratio, 3), 'ratio', { ...fullSizeTarget(ctx, '<= 1.10', ratio <= 1.1), note: `read p99 ${quiet.toFixed(2)} -> ${busy.toFixed(2)} ms` }));
  return out;
}
