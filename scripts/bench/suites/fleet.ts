// 4. Fleet scale: 100 simulated clusters (2,000 nodes and 10,000 active jobs each: 200k nodes,
// 1M jobs) stream into one real hub through real agent spools and streams. Then, while every
// cluster keeps sending changes, clients page through filtered `jobs` queries (by user, account,
// state; 100 per page) over HTTPS: latency p50/p99 at the client. Peak hub RSS (VmHWM) over
// all of it, then the time a hub killed with SIGKILL takes to serve the full state again from
// its data directory (process start to listening, state loaded).
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { sleep, waitFor } from '../../../test/harness/index.js';
import { fullSizeTarget, measured, percentile, round, type BenchContext, type Measured } from '../lib/context.js';
import { HubApi } from '../lib/https.js';
import { startHubChild } from '../lib/parts.js';
import { memory } from '../lib/proc.js';
import { Child } from '../lib/rpc.js';
import { Prng } from '../lib/workload.js';

interface Progress {
  clusters: number;
  connected: number;
  acked: number;
  churned: { deltas: number; updates: number };
}

interface HubStats {
  jobs: number;
  nodes: number;
  clusters: number;
  ingest: { deltasApplied: number; batches: number };
}

const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy'];
const ACCOUNTS = ['research', 'physics', 'ops', 'chem'];
const STATES = ['RUNNING', 'PENDING'];

function randomQuery(rng: Prng): string {
  const r = rng.next();
  const q = new URLSearchParams({ limit: '100' });
  if (r < 0.3) q.set('user', rng.pick(USERS));
  else if (r < 0.5) q.set('account', rng.pick(ACCOUNTS));
  else if (r < 0.6) q.set('state', rng.pick(STATES));
  else if (r < 0.8) {
    q.set('user', rng.pick(USERS));
    q.set('state', rng.pick(STATES));
  } else {
    q.set('account', rng.pick(ACCOUNTS));
    q.set('state', rng.pick(STATES));
    if (rng.chance(0.5)) q.set('user', rng.pick(USERS));
  }
  return q.toString();
}

export async function fleetBench(ctx: BenchContext): Promise<Measured[]> {
  const clusters = ctx.quick ? 10 : 100;
  const nodes = 2_000;
  const jobs = 10_000;
  const queries = ctx.quick ? 400 : 2_000;
  // At least this long, so the queries meet many deltas.
  const minQuerySeconds = ctx.quick ? 3 : 15;
  const concurrency = 4;
  // Each client waits 10-30 ms between queries (about 150 queries/s in all): people and
  // dashboards, not a saturating loop whose p99 would only measure its own queue.
  const thinkMs = [10, 30];
  const churnJobs = 100; // per cluster per second: 1% of its jobs, plus a tenth as many nodes
  const names = Array.from({ length: clusters }, (_, i) => `sim-${String(i + 1).padStart(3, '0')}`);
  const hub = await startHubChild(ctx, 'fleet-hub');
  const api = new HubApi(hub.ready.http, ctx.pki.client, concurrency);
  let agents: Child<{ buildMs: number; objects: number }> | undefined;
  try {
    const t0 = Date.now();
    agents = await Child.start<{ buildMs: number; objects: number }>(
      'fleet-agents',
      {
        clusters: await Promise.all(names.map(async (name) => ({ name, tls: await ctx.pki.agent(name) }))),
        hub: hub.ready.grpc,
        nodes,
        jobs,
        spoolDir: mkdtempSync(join(ctx.workDir, 'fleet-spools-')),
        distinct: ctx.quick ? 4 : 10,
      },
      { execArgv: ['--max-old-space-size=8192'], timeoutMs: 600_000 },
    );
    ctx.log(`fleet: ${clusters} clusters simulated (${agents.ready.objects} objects) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const t1 = Date.now();
    await agents.call('start');
    let lastReport = Date.now();
    await waitFor(
      'every cluster at the hub',
      async () => {
        const p = await agents!.call<Progress>('progress');
        // A slow load says how far it got (and whether agents keep reconnecting).
        if (Date.now() - lastReport > 30_000) {
          lastReport = Date.now();
          ctx.log(`fleet: loading: ${p.connected}/${clusters} connected, ${p.acked} fully acked after ${((Date.now() - t1) / 1000).toFixed(0)} s`);
        }
        return p.acked === clusters;
      },
      900_000,
      250,
    );
    const loaded = await hub.call<HubStats>('stats');
    const loadS = (Date.now() - t1) / 1000;
    ctx.log(`fleet: hub holds ${loaded.jobs} jobs, ${loaded.nodes} nodes of ${loaded.clusters} clusters after ${loadS.toFixed(1)} s; RSS ${memory(hub.pid).rssMiB.toFixed(0)} MiB`);

    // Queries under ingest: every cluster sends a delta every second.
    await agents.call('churn', { jobs: churnJobs, intervalMs: 1000 });
    await sleep(2000);
    const before = await hub.call<HubStats>('stats');
    if (ctx.profile) await hub.call('profileStart');
    const tq = Date.now();
    const latencies: number[] = [];
    const rng = new Prng(42);
    let next = 0;
    let failures = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        let cursor: string | undefined;
        let last = '';
        while (next < queries || Date.now() - tq < minQuerySeconds * 1000) {
          next++;
          const query = cursor && rng.chance(0.25) ? `${last}&cursor=${encodeURIComponent(cursor)}` : randomQuery(rng);
          if (!query.includes('cursor=')) last = query;
          const s = process.hrtime.bigint();
          const r = await api.get(`/api/v1/jobs?${query}`);
          latencies.push(Number(process.hrtime.bigint() - s) / 1e6);
          if (r.status !== 200) {
            failures++;
            cursor = undefined;
            continue;
          }
          cursor = (JSON.parse(r.body) as { next_cursor: string | null }).next_cursor ?? undefined;
          await sleep(rng.int(thinkMs[0], thinkMs[1]));
        }
      }),
    );
    const queryS = (Date.now() - tq) / 1000;
    const after = await hub.call<HubStats>('stats');
    if (ctx.profile) await hub.call('profileStop', { path: join(ctx.workDir, 'profiles', 'fleet-hub-queries.cpuprofile') });
    await agents.call('churn', { jobs: 0, intervalMs: 0 });
    const ingested = after.ingest.deltasApplied - before.ingest.deltasApplied;
    latencies.sort((a, b) => a - b);
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    if (failures > 0) throw new Error(`fleet: ${failures} queries failed`);
    ctx.log(`fleet: ${latencies.length} queries in ${queryS.toFixed(1)} s (${concurrency} clients, ${Math.round(latencies.length / queryS)}/s) while the hub applied ${ingested} deltas (${Math.round(ingested / queryS)}/s, ~${Math.round((ingested * churnJobs * 1.1) / queryS)} updates/s): p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`);
    await waitFor('the last acks', async () => (await agents!.call<Progress>('progress')).acked === clusters, 120_000, 250);
    const peak = memory(hub.pid);

    // Cold start: kill -9, start again on the same data directory.
    await agents.call('stop').catch(() => undefined);
    await agents.kill();
    agents = undefined;
    await hub.kill();
    const tc = Date.now();
    const again = await startHubChild(ctx, 'fleet-hub-cold', { dataDir: hub.dataDir });
    const coldS = (Date.now() - tc) / 1000;
    let cold: HubStats;
    try {
      cold = await again.call<HubStats>('stats');
      ctx.log(`fleet: cold start ${coldS.toFixed(1)} s (state load ${(again.ready.startMs / 1000).toFixed(1)} s): ${cold.jobs} jobs, ${cold.nodes} nodes; RSS ${memory(again.pid).rssMiB.toFixed(0)} MiB, peak ${memory(again.pid).hwmMiB.toFixed(0)} MiB`);
    } finally {
      await again.kill();
    }
    if (cold.jobs !== after.jobs) throw new Error(`fleet: cold start holds ${cold.jobs} jobs, expected ${after.jobs}`);
    const size = `${clusters} clusters, ${loaded.nodes} nodes, ${loaded.jobs} jobs`;
    return [
      measured(ctx, 'hub_rss_1m_jobs_mib', round(peak.hwmMiB, 0), 'MiB', { ...fullSizeTarget(ctx, '<= 2560', peak.hwmMiB <= 2560), note: `VmHWM: ${size}; load ${loadS.toFixed(0)} s` }),
      measured(ctx, 'hub_cold_start_s', round(coldS, 2), 's', { note: `kill -9, restart: process start to full state (${cold.jobs} jobs)` }),
      measured(ctx, 'query_p50_ms', round(p50, 2), 'ms', { note: `${latencies.length} filtered queries, limit 100, ${concurrency} clients, ${Math.round(latencies.length / queryS)}/s` }),
      measured(ctx, 'query_p99_ms', round(p99, 2), 'ms', { ...fullSizeTarget(ctx, '<= 50', p99 <= 50), note: `under ingest of ~${Math.round((ingested * churnJobs * 1.1) / queryS)} updates/s` }),
    ];
  } finally {
    api.close();
    if (agents) await agents.stop().catch(() => undefined);
    await hub.kill();
  }
}
