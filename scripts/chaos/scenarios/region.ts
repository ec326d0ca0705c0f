// One region cut from another (netns mode): every namespace of region B (region.ts) drops all
// packets to and from region A's for the hold, both regions ingesting all the while.
// During the cut each region's user must see the other region named as missing (`partial`) in a
// scope=global answer, never its last items silently; each region keeps ingesting its own
// cluster; a command sent to region A's hub for region B's cluster is refused at once with a
// typed error and does not run. Federation is a live query over a direct link with a timer of its
// own: a global query started during the cut waits out the peer's `timeout` by design (a hanging
// region costs at most that), as a hub cut from etcd waits out its lease. So the target is built
// like the "lease TTL + 2 s": the peer timeout + 2 s, measured from the heal until every hub of both regions answers a global query with no gap and with the
// jobs the other region ingested during the cut. A job submitted to each Slurm at the heal is
// timed apart (`*_heal_job_ms`: a poll and the stream of the other region besides the link), as
// the other network scenarios report marker_ms. Then, with both clusters quiet, each region's
// global view must equal the other region's source exactly (lost, duplicated).
import { httpsCall, type GroupHub } from '../../../test/harness/index.js';
import type { Fleet } from '../fleet.js';
import { log, waitFor } from '../progress.js';
import { CLUSTER_B, diff, globalJobs, ofRegion, PEER_TIMEOUT_MS, REGION_B, REGION_B_NODES, type GlobalItem } from '../region.js';
import { REGION } from '../fleet.js';
import type { Fault, Scenario } from './fault.js';

const REGION_CUT_TARGET_MS = PEER_TIMEOUT_MS + 2_000;

/** Items listed twice under one (region, id). */
function repeated(items: GlobalItem[]): number {
  const seen = new Set<string>();
  let n = 0;
  for (const j of items) {
    const k = `${j.region}/${j.id}`;
    if (seen.has(k)) n++;
    seen.add(k);
  }
  return n;
}

export const regionCut: Scenario = [
  'netns: region B cut from region A (both ingesting) for 5 s',
  async (fleet: Fleet, ctx): Promise<Fault> => {
    const net = fleet.options.net;
    const peer = ctx.peer;
    if (!net || !peer) throw new Error('the region cut needs the netns mode and region B');
    if (!peer.hub) await peer.start(fleet.pki, fleet.hubs[0].httpUrl);
    const hubB = peer.hub!;
    const engineB = peer.sim!.engine;
    peer.setChurn(true);
    // Steady: every hub of both regions answers a global query whole.
    await waitFor('both regions federated', async () => {
      for (const h of [...fleet.liveHubs(), hubB]) if ((await globalJobs(h)).partial.length) return false;
      return true;
    }, 30_000, 200);
    // A held job of region B: the cross-region release must not run it.
    const held = engineB.submit({ name: 'chaos-cross-region', hold: true });
    await waitFor('the held job on hub-b1', async () => (await peer.regionJobs()).has(String(held)), 10_000, 100);
    const aNodes = [...net.nodes.keys()].filter((n) => !REGION_B_NODES.includes(n));
    const figures: Record<string, number | string> = {};
    const errors: string[] = [];
    let cutAt = 0;
    let healedAt = 0;
    const fresh = new Set<string>();
    const healKeys: string[] = [];
    // Jobs submitted at the cut: each region ingests its own during the cut; the other region's
    // global view must show it once the link is back.
    let ingestA = '';
    let ingestB = '';
    let commandSent = false;
    const hubA = fleet.hubs.find((h) => h.alive)!;
    const DURING = [...fleet.liveHubs().flatMap((h) => [`${h.id}_sees_b_missing_ms`, `${h.id}_ingest_during_cut_ms`]), 'b_sees_a_missing_ms', 'b_ingest_during_cut_ms'];
    log(`  cutting ${REGION_B_NODES.join(', ')} off ${aNodes.length} namespaces of region A`);

    /** The cross-region command, once: refused with a typed error within the peer timeout's order, not hung. */
    const command = async (): Promise<void> => {
      const t = Date.now();
      const { pki } = fleet;
      const r = await httpsCall(`${hubA.httpUrl}/api/v1/jobs/${CLUSTER_B}/${held}/release`, { method: 'POST', body: {}, ca: pki.ca, cert: pki.client.cert, key: pki.client.key, timeoutMs: 30_000 });
      const body = JSON.parse(r.body || '{}') as { code?: string; detail?: string };
      figures.cross_region_command_ms = Date.now() - t;
      figures.cross_region_command = `${r.status} ${body.code ?? ''}`.trim();
      log(`  ${hubA.id}: release of ${CLUSTER_B}/${held} answered ${r.status} ${body.code}: ${body.detail}`);
      if (r.status !== 503 || body.code !== 'SF_AGENT_NOT_CONNECTED') errors.push(`a command for region B's cluster via region A answered ${r.status} ${body.code}, not 503 SF_AGENT_NOT_CONNECTED`);
    };

    return {
      kill: async () => {
        for (const n of REGION_B_NODES) net.fault(n, aNodes, {});
        cutAt = Date.now();
        ingestA = String(fleet.engine.submit({ name: 'chaos-cut-a' }));
        ingestB = String(engineB.submit({ name: 'chaos-cut-b' }));
        // Each user-visible condition watched on its own, from the cut: a global query waits out
        // the peer timeout, so one loop over all of them would date each later than it held.
        const each = (key: string, cond: () => Promise<boolean>): void => {
          void waitFor(key, cond, 30_000, 50).then(
            () => (figures[key] = Date.now() - cutAt),
            () => undefined,
          );
        };
        for (const h of fleet.liveHubs()) {
          // B named in partial and none of B's items shown: not silently old.
          each(`${h.id}_sees_b_missing_ms`, async () => {
            const g = await globalJobs(h);
            return g.partial.includes(REGION_B) && !ofRegion(g.items, REGION_B).size;
          });
          each(`${h.id}_ingest_during_cut_ms`, async () => (await h.jobs()).jobs.has(ingestA));
        }
        each('b_sees_a_missing_ms', async () => {
          const g = await globalJobs(hubB);
          return g.partial.includes(REGION) && !ofRegion(g.items, REGION).size;
        });
        each('b_ingest_during_cut_ms', async () => (await peer.regionJobs()).has(ingestB));
      },
      // Every hub of both regions (each watched on its own from the heal) shows the other region whole again.
      recovered: async () => fleet.liveHubs().every((h) => fresh.has(h.id)) && fresh.has(hubB.id),
      restore: () => peer.stop(),
      network: {
        during: async () => {
          if (!commandSent) {
            commandSent = true;
            await command();
          }
          return DURING.every((k) => figures[k] !== undefined);
        },
        holdMs: 5_000,
        heal: async () => {
          for (const n of REGION_B_NODES) net.heal(n);
          healedAt = Date.now();
          const markerA = String(fleet.engine.submit({ name: 'chaos-heal-a' }));
          const markerB = String(engineB.submit({ name: 'chaos-heal-b' }));
          const watch = (h: GroupHub, key: string, cond: (g: Awaited<ReturnType<typeof globalJobs>>) => boolean, then?: () => void): void => {
            void waitFor(key, async () => cond(await globalJobs(h)), 30_000, 50).then(
              () => {
                figures[key] = Date.now() - healedAt;
                then?.();
              },
              () => undefined,
            );
          };
          const views = [...fleet.liveHubs().map((x) => [x, REGION_B, ingestB, markerB] as const), [hubB, REGION, ingestA, markerA] as const];
          for (const [h, other, during, marker] of views) {
            // Recovery: no gap, and the other region's jobs of the cut are there (the link itself).
            watch(h, `${h.id}_whole_after_heal_ms`, (g) => !g.partial.length && ofRegion(g.items, other).has(during), () => fresh.add(h.id));
            // End to end, reported apart: a job submitted at the heal (a Slurm poll and the stream in the other region too).
            watch(h, `${h.id}_heal_job_ms`, (g) => ofRegion(g.items, other).has(marker));
            healKeys.push(`${h.id}_heal_job_ms`);
          }
        },
        targetMs: REGION_CUT_TARGET_MS,
        report: async () => {
          figures.cut_ms = healedAt - cutAt;
          await waitFor('the jobs submitted at the heal in every global view', () => healKeys.every((k) => figures[k] !== undefined), 20_000, 50).catch((err: Error) => errors.push(err.message));
          // Both clusters quiet, then each region's global view against the other's source.
          fleet.setChurn(false);
          peer.setChurn(false);
          let lost = 0;
          let duplicated = 0;
          // Jobs a view shows that the source no longer has (an old copy): an error of their own.
          let extra = 0;
          const compare = async (): Promise<boolean> => {
            lost = 0;
            duplicated = 0;
            extra = 0;
            const a = fleet.slurmJobs();
            const b = peer.slurmJobs();
            const own = diff(b, await peer.regionJobs());
            lost = Math.max(lost, own.missing);
            extra = own.extra;
            for (const h of [...fleet.liveHubs(), hubB]) {
              const g = await globalJobs(h);
              duplicated = Math.max(duplicated, repeated(g.items));
              for (const [region, source] of [[REGION, a], [REGION_B, b]] as const) {
                const d = diff(source, ofRegion(g.items, region));
                lost = Math.max(lost, g.partial.includes(region) ? source.size : d.missing);
                extra = Math.max(extra, d.extra);
              }
            }
            return lost === 0 && duplicated === 0 && extra === 0;
          };
          const t = Date.now();
          await waitFor('every global view equal to both sources', compare, 20_000, 300).catch((err: Error) => errors.push(err.message));
          figures.equal_after_quiet_ms = Date.now() - t;
          if (engineB.job(held)?.held !== 'user') errors.push(`region B's held job ${held} is no longer held: the cross-region command ran`);
          if (extra) errors.push(`a view shows ${extra} job(s) its source no longer has`);
          log(`  lost ${lost}, duplicated ${duplicated}, extra ${extra} across both regions' global views`);
          return { ...figures, lost, duplicated, ...(errors.length ? { error: errors.join('; ') } : {}) };
        },
      },
    };
  },
];
