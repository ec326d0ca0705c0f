// The accounting after each scenario: lost and duplicated deltas and objects, double-leader actions.
//   lost        deltas the agents spooled that no hub applied (spool epoch/lastSeq vs each hub's
//               cluster epoch/seq) + objects the source holds that a hub lacks or has otherwise
//   duplicated  applied deltas beyond the distinct seqs the ingesting hubs advanced by
//               (sfleet_ingest_deltas_total{outcome="applied"} vs sampled epoch/seq) + objects
//               listed twice
//   double_leader_actions  samples where two hubs lead at once, leader tokens going backwards,
//               and Redis fence values going backwards (a stale token's write accepted)
import { log, waitFor } from './progress.js';
import type { ClusterView, Fleet, Hub } from './fleet.js';
import type { Sampler } from './sampler.js';

export interface Summary {
  scenario: string;
  /** netns: real network paths in namespaces; loopback: the fallback where `ip netns add` is refused (chaos always sets it). */
  mode?: 'netns' | 'loopback';
  /** From the fault (or, for a network fault, from its heal) until the fleet is whole again. */
  recovery_ms: number | null;
  lost: number;
  duplicated: number;
  double_leader_actions: number;
  /** Network faults: the recovery bound, and how long the fleet took to work around the fault. */
  target_ms?: number;
  fault_ms?: number;
  /** Network faults: from the heal until a job submitted then shows on every hub. */
  marker_ms?: number;
  /** The whole scenario, accounting included. */
  took_ms?: number;
  /** Other figures of a scenario (the leader's step-down). */
  [figure: string]: string | number | null | undefined;
  error?: string;
}

interface HubRead {
  cluster: ClusterView | undefined;
  applied: { applied: number; snapshots: number };
}

/** Per hub id, from before the fault: its process and a stable read. */
export type Before = Map<string, HubRead & { pid: number | undefined }>;

/** The applied counters and the cluster's epoch/seq from one moment: read until the seq holds still around them. */
export async function stableRead(h: Hub): Promise<HubRead> {
  for (let i = 0; ; i++) {
    const cluster = await h.cluster();
    const applied = await h.applied();
    const again = await h.cluster();
    if (i >= 20 || (cluster?.epoch === again?.epoch && cluster?.seq === again?.seq)) return { cluster, applied };
  }
}

export async function readBefore(fleet: Fleet): Promise<Before> {
  const live0 = fleet.hubs.filter((h) => h.alive);
  return new Map(
    await Promise.all(
      live0.map(async (h) => {
        const r = await stableRead(h);
        return [h.id, { pid: h.proc?.child?.pid, ...r }] as const;
      }),
    ),
  );
}

/**
 * Both agents stop cleanly and their spools are read; the one whose epoch the hubs hold restarts
 * alone (it becomes fleet.active) and resends what the hubs have not acked, then the other. Then
 * every live hub is compared with the spool, Slurm and its counters from `before`.
 */
export async function account(fleet: Fleet, sampler: Sampler, before: Before, summary: Summary): Promise<void> {
  const { hubs, agents } = fleet;
  for (const a of agents) await a.proc?.kill('SIGTERM');
  const spools = agents.map((a) => ({ agent: a, ...a.spool() }));
  const hubEpoch = (await hubs.find((h) => h.alive)!.cluster())?.epoch;
  const current = spools.find((sp) => sp.epoch === hubEpoch);
  if (!current) throw new Error(`the hubs hold epoch ${hubEpoch}, no agent's spool does (${spools.map((sp) => `${sp.agent.name}:${sp.epoch}`).join(', ')})`);
  const active = current.agent;
  fleet.active = active;
  active.start();
  await waitFor(`${active.name} active again`, () => fleet.tookOver(active, -1), 20_000);
  const live = hubs.filter((h) => h.alive);
  await waitFor(
    `every hub at ${active.name}'s epoch ${current.epoch} seq ${current.lastSeq}`,
    async () => (await Promise.all(live.map((h) => h.cluster()))).every((c) => c?.epoch === current.epoch && c.seq >= current.lastSeq),
    15_000,
    100,
  ).catch((err: Error) => log(`  ${err.message}`));
  agents.find((x) => x !== active)!.start();
  await sampler.sample();
  const views = await Promise.all(live.map(async (h) => ({ hub: h, jobs: await h.jobs(), ...(await stableRead(h)) })));
  const slurm = fleet.slurmJobs();
  for (const v of views) {
    const c = v.cluster;
    if (!c || c.epoch !== current.epoch) {
      summary.lost = Math.max(summary.lost, current.lastSeq);
      summary.error = `${v.hub.id} holds epoch ${c?.epoch}, not ${active.name}'s ${current.epoch}`;
      continue;
    }
    let missing = Math.max(0, current.lastSeq - c.seq);
    for (const id of slurm.keys()) if (!v.jobs.jobs.has(id)) missing++;
    for (const [id, state] of current.jobs) if (v.jobs.jobs.get(id) !== state) missing++;
    summary.lost = Math.max(summary.lost, missing);
    summary.duplicated = Math.max(summary.duplicated, v.jobs.repeated);
    // Applied deltas vs the distinct seqs this hub advanced by (not for a restarted hub).
    const b = before.get(v.hub.id);
    const seen = sampler.seqs.get(v.hub.id);
    if (!b || !b.cluster || b.pid !== v.hub.proc?.child?.pid || !seen) continue;
    const last = seen.get(c.epoch);
    if (last) last[1] = Math.max(last[1], c.seq);
    else seen.set(c.epoch, [c.seq, c.seq]);
    let distinct = 0;
    for (const [epoch, [, hi]] of seen) distinct += epoch === b.cluster.epoch ? hi - b.cluster.seq : hi; // a new epoch starts at seq 1
    const appliedDelta = v.applied.applied - b.applied.applied;
    // A snapshot (a resync on request) may land on a seq the hub already holds: it
    // replaces the state instead of adding to it, so it is no duplicated delta.
    const snapshots = v.applied.snapshots - b.applied.snapshots;
    if (appliedDelta > distinct) log(`  ${v.hub.id}: ${appliedDelta} deltas applied (${snapshots} snapshots), ${distinct} distinct seqs seen in ${seen.size} epoch(s)`);
    if (appliedDelta - snapshots > distinct) summary.duplicated = Math.max(summary.duplicated, appliedDelta - snapshots - distinct);
  }
  summary.double_leader_actions = sampler.doubleLeader;
  for (const n of sampler.notes.slice(0, 5)) log(`  ${n}`);
  log(
    `  spools: ${spools.map((sp) => `${sp.agent.name} epoch ${sp.epoch} seq ${sp.lastSeq}`).join('; ')}; hubs: ${views
      .map((v) => `${v.hub.id} ${v.cluster?.epoch}/${v.cluster?.seq} agent ${v.cluster?.agent}`)
      .join('; ')}`,
  );
}
