// The `hold` policy's decision, apart from its effects: which pending jobs of a tenant to hold
// (the newest past a max_jobs limit) and which of the jobs it held itself to release (the oldest
// that fit again). Jobs held by anyone else count as queued jobs and are never released here.
import type { Job } from '../../shared/model/index.js';
import type { TenantConfig } from '../tenancy/index.js';
import { globMatch } from '../policy/index.js';
import { arrayTaskCount, scheduleAt } from '../quota/index.js';

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

export interface LimitHit {
  scope: 'tenant' | 'account' | 'user';
  subject: string;
  value: number;
  /** The jobs counted against it (array tasks one by one), not counting the jobs this policy holds. */
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

interface Limit {
  scope: LimitHit['scope'];
  subject: string;
  value: number;
}

/** The max_jobs limits in force that count this job: the tenant's (schedules applied), its account's, its user's. */
function limitsOf(tenant: string, t: TenantConfig, tenantMax: number | undefined, job: Job): Limit[] {
  const out: Limit[] = [];
  if (tenantMax !== undefined) out.push({ scope: 'tenant', subject: tenant, value: tenantMax });
  const account = Object.entries(t.account_resources).find(([g]) => globMatch(g, job.account))?.[1].max_jobs;
  if (account !== undefined) out.push({ scope: 'account', subject: job.account, value: account });
  const user = Object.entries(t.user_resources).find(([g]) => globMatch(g, job.user))?.[1].max_jobs;
  if (user !== undefined) out.push({ scope: 'user', subject: job.user, value: user });
  return out;
}

const limitId = (l: Limit): string => `${l.scope}\u0000${l.subject}`;

/**
 * What to hold and release for one tenant now. `jobs` are the tenant's jobs in the fleet state;
 * `ours` the jobs this policy holds (by key). Holds go newest first while a limit is exceeded;
 * releases oldest first while every limit of the job still has room for it.
 */
export function planHolds(tenant: string, t: TenantConfig, jobs: readonly Job[], ours: ReadonlySet<string>, nowMs: number): HoldAction[] {
  const tenantMax = scheduleAt(t.resources, t.schedules, nowMs).resources.max_jobs;
  const used = new Map<string, number>();
  const live = jobs.filter((j) => QUEUED.has(j.state) || ALLOCATED.has(j.state));
  const limits = new Map(live.map((j) => [j, limitsOf(tenant, t, tenantMax, j)]));
  const add = (j: Job, sign: 1 | -1): void => {
    for (const l of limits.get(j)!) used.set(limitId(l), (used.get(limitId(l)) ?? 0) + sign * tasksOf(j));
  };
  for (const j of live) if (!ours.has(jobKey(j.cluster, j.id))) add(j, 1);
  const actions: HoldAction[] = [];
  const newestFirst = (a: Job, b: Job): number => submitted(b) - submitted(a) || b.id - a.id;
  const candidates = live.filter((j) => QUEUED.has(j.state) && !isHeld(j) && !ours.has(jobKey(j.cluster, j.id))).sort(newestFirst);
  for (const j of candidates) {
    const over = limits.get(j)!.find((l) => (used.get(limitId(l)) ?? 0) > l.value);
    if (!over) continue;
    actions.push({ kind: 'hold', job: j, tenant, limit: { ...over, usage: used.get(limitId(over)) ?? 0 } });
    add(j, -1);
  }
  const held = live.filter((j) => QUEUED.has(j.state) && ours.has(jobKey(j.cluster, j.id))).sort((a, b) => -newestFirst(a, b));
  for (const j of held) {
    const mine = limits.get(j)!;
    if (mine.some((l) => (used.get(limitId(l)) ?? 0) + tasksOf(j) > l.value)) continue;
    add(j, 1);
    const tightest = mine.sort((a, b) => a.value - (used.get(limitId(a)) ?? 0) - (b.value - (used.get(limitId(b)) ?? 0)))[0];
    actions.push({ kind: 'release', job: j, tenant, limit: tightest ? { ...tightest, usage: used.get(limitId(tightest)) ?? 0 } : null });
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
