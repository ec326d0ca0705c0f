// The `hold` policy's decision, apart from its effects: which pending jobs of a tenant to hold
// (the newest past a jobs, nodes, CPUs, GPUs or memory limit) and which of the jobs it held itself to release (the oldest
// that fit again). Jobs held by anyone else count as queued jobs and are never released here.
import type { Job } from '../../shared/model/index.js';
import type { ResourceLimits, TenantConfig } from '../tenancy/index.js';
import { globMatch } from '../policy/index.js';
import { arrayTaskCount, scheduleAt, tresOf } from '../quota/index.js';

const QUEUED = new Set(['PENDING', 'REQUEUED', 'REQUEUE_HOLD', 'RESV_DEL_HOLD']);
const ALLOCATED = new Set(['RUNNING', 'CONFIGURING', 'COMPLETING', 'SUSPENDED', 'STAGE_OUT', 'SIGNALING']);

/** A job this policy held: its key is "cluster/id". */
export interface HeldEntry {
  cluster: string;
  id: number;
  tenant: string;
  /** When the hold was sent (ms): until the fleet state shows it, the job counts as held. */
  held_at: number;
}

/** The quota limits the hold policy enforces. */
export type HoldLimit = 'max_jobs' | 'max_nodes' | 'max_cpus' | 'max_gpus' | 'max_memory';
const DIMS: readonly HoldLimit[] = ['max_jobs', 'max_nodes', 'max_cpus', 'max_gpus', 'max_memory'];

export interface LimitHit {
  scope: 'tenant' | 'account' | 'user';
  subject: string;
  limit: HoldLimit;
  value: number;
  /** What is counted against it, not counting the jobs this policy holds: jobs (array tasks one by one), or nodes, CPUs, GPUs, memory (bytes) of running jobs plus what pending jobs ask for. */
  usage: number;
}

export interface HoldAction {
  kind: 'hold' | 'release';
  job: Job;
  tenant: string;
  /** hold: the limit the job is past; release: the tightest limit it now fits under. */
  limit: LimitHit | null;
}

export const jobKey = (cluster: string, id: number): string => `${cluster}/${id}`;

/** Held by Slurm's hold (ours or a person's): pending at priority 0 with a JobHeld reason. */
export function isHeld(job: Job): boolean {
  return job.state_reason.startsWith('JobHeld') || (QUEUED.has(job.state) && job.priority === 0);
}

const tasksOf = (job: Job): number => (QUEUED.has(job.state) && job.array_task_string ? arrayTaskCount(job.array_task_string) : 1);
const submitted = (job: Job): number => (job.submit_time ? Date.parse(job.submit_time) || 0 : 0);

/**
 * What a job counts against a limit. Running jobs count what they hold; a pending job counts
 * what it asks for, as if it ran (so holding keeps the queue within the quota, the way admission
 * of a submit counts). Nodes of running jobs count once however many jobs share them (see Tally).
 */
function cost(job: Job, dim: HoldLimit): number {
  const tasks = tasksOf(job);
  switch (dim) {
    case 'max_jobs':
      return tasks;
    case 'max_nodes':
      return QUEUED.has(job.state) ? Math.max(job.node_count, 1) * tasks : 0;
    case 'max_cpus':
      return job.cpus * tasks;
    case 'max_gpus':
      return tresOf(job.tres).gpus * tasks;
    case 'max_memory':
      return (tresOf(job.tres).memory || (job.memory_mb ?? 0) * 1024 ** 2) * tasks;
  }
}

interface Limit {
  scope: LimitHit['scope'];
  subject: string;
  limit: HoldLimit;
  value: number;
}

/** The limits in force that count this job: the tenant's (schedules applied), its account's, its user's. */
function limitsOf(tenant: string, t: TenantConfig, tenantLimits: ResourceLimits, job: Job): Limit[] {
  const out: Limit[] = [];
  const push = (scope: Limit['scope'], subject: string, r: ResourceLimits | undefined): void => {
    for (const limit of DIMS) if (r?.[limit] !== undefined) out.push({ scope, subject, limit, value: r[limit] });
  };
  push('tenant', tenant, tenantLimits);
  push('account', job.account, Object.entries(t.account_resources).find(([g]) => globMatch(g, job.account))?.[1]);
  push('user', job.user, Object.entries(t.user_resources).find(([g]) => globMatch(g, job.user))?.[1]);
  return out;
}

const limitId = (l: Limit): string => `${l.scope}\u0000${l.subject}\u0000${l.limit}`;

/** Usage per limit; the nodes of running jobs as a set per limit, so a shared node counts once. */
class Tally {
  private readonly sums = new Map<string, number>();
  private readonly nodes = new Map<string, Set<string>>();

  add(job: Job, limits: readonly Limit[], sign: 1 | -1): void {
    for (const l of limits) {
      const id = limitId(l);
      this.sums.set(id, (this.sums.get(id) ?? 0) + sign * cost(job, l.limit));
      if (l.limit === 'max_nodes' && ALLOCATED.has(job.state)) {
        let set = this.nodes.get(id);
        if (!set) this.nodes.set(id, (set = new Set()));
        for (const n of job.nodes) set.add(`${job.cluster}\u0000${n}`);
      }
    }
  }

  used(l: Limit): number {
    return (this.sums.get(limitId(l)) ?? 0) + (this.nodes.get(limitId(l))?.size ?? 0);
  }
}

/**
 * What to hold and release for one tenant now. `jobs` are the tenant's jobs in the fleet state;
 * `ours` the jobs this policy holds (by key). Holds go newest first while a limit is exceeded;
 * releases oldest first while every limit of the job still has room for it.
 */
export function planHolds(tenant: string, t: TenantConfig, jobs: readonly Job[], ours: ReadonlySet<string>, nowMs: number): HoldAction[] {
  const tenantLimits = scheduleAt(t.resources, t.schedules, nowMs).resources;
  const tally = new Tally();
  const live = jobs.filter((j) => QUEUED.has(j.state) || ALLOCATED.has(j.state));
  const limits = new Map(live.map((j) => [j, limitsOf(tenant, t, tenantLimits, j)]));
  for (const j of live) if (!ours.has(jobKey(j.cluster, j.id))) tally.add(j, limits.get(j)!, 1);
  const actions: HoldAction[] = [];
  const newestFirst = (a: Job, b: Job): number => submitted(b) - submitted(a) || b.id - a.id;
  const candidates = live.filter((j) => QUEUED.has(j.state) && !isHeld(j) && !ours.has(jobKey(j.cluster, j.id))).sort(newestFirst);
  for (const j of candidates) {
    // Only a limit this job adds to: holding it would not bring the others down.
    const over = limits.get(j)!.find((l) => cost(j, l.limit) > 0 && tally.used(l) > l.value);
    if (!over) continue;
    actions.push({ kind: 'hold', job: j, tenant, limit: { ...over, usage: tally.used(over) } });
    tally.add(j, limits.get(j)!, -1);
  }
  const held = live.filter((j) => QUEUED.has(j.state) && ours.has(jobKey(j.cluster, j.id))).sort((a, b) => -newestFirst(a, b));
  for (const j of held) {
    const mine = limits.get(j)!;
    if (mine.some((l) => tally.used(l) + cost(j, l.limit) > l.value)) continue;
    tally.add(j, mine, 1);
    const tightest = [...mine].sort((a, b) => a.value - tally.used(a) - (b.value - tally.used(b)))[0];
    actions.push({ kind: 'release', job: j, tenant, limit: tightest ? { ...tightest, usage: tally.used(tightest) } : null });
  }
  return actions;
}

/**
 * The held list kept across ticks: entries whose job ended, started or left the queue go, and so
 * do entries a person released (not held any more once the state has had `settleMs` to show our hold).
 */
export function pruneHeld(held: readonly HeldEntry[], jobOf: (e: HeldEntry) => Job | undefined | null, nowMs: number, settleMs: number): HeldEntry[] {
  return held.filter((e) => {
    const job = jobOf(e);
    if (job === null) return true; // the cluster is not in the state now: keep what we know
    if (!job || !QUEUED.has(job.state)) return false;
    return isHeld(job) || nowMs - e.held_at < settleMs;
  });
}
