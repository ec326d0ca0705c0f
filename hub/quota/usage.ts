// What a tenant, an account and a user use now, from the fleet state: running plus pending jobs
// (array tasks one by one, also those Slurm still keeps as one pending record), and the distinct
// nodes, CPUs, GPUs (TRES gres/gpu) and memory allocated to running jobs.
import type { Job } from '../../shared/model/index.js';
import type { FleetState } from '../fleet/index.js';
import type { Tenancy } from '../tenancy/index.js';

export interface Usage {
  jobs: number;
  nodes: number;
  cpus: number;
  gpus: number;
  /** Bytes. */
  memory: number;
}

const QUEUED = new Set(['PENDING', 'REQUEUED', 'REQUEUE_HOLD', 'RESV_DEL_HOLD']);
const ALLOCATED = new Set(['RUNNING', 'CONFIGURING', 'COMPLETING', 'SUSPENDED', 'STAGE_OUT', 'SIGNALING']);

/** "1-1000%4", "1,3,5-7": how many tasks a pending array record stands for. */
export function arrayTaskCount(spec: string): number {
  let n = 0;
  for (const part of spec.split('%')[0].split(',')) {
    const m = /^(\d+)(?:-(\d+))?(?::(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const from = Number(m[1]);
    const to = m[2] !== undefined ? Number(m[2]) : from;
    const step = m[3] !== undefined ? Math.max(1, Number(m[3])) : 1;
    if (to >= from) n += Math.floor((to - from) / step) + 1;
  }
  return Math.max(n, 1);
}

const UNITS: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4, P: 1024 ** 5 };

/** A TRES string ("cpu=2,mem=4G,node=1,gres/gpu=2"): GPUs and memory (bytes). */
export function tresOf(tres: string): { gpus: number; memory: number } {
  let gpus = 0;
  let memory = 0;
  for (const pair of tres.split(',')) {
    const [key, value = ''] = pair.split('=');
    if (key === 'gres/gpu') gpus += Number(value) || 0;
    else if (key === 'mem') {
      const m = /^(\d+(?:\.\d+)?)([KMGTP]?)$/.exec(value);
      if (m) memory += Number(m[1]) * (UNITS[m[2] || 'M'] ?? 1);
    }
  }
  return { gpus, memory };
}

/** How a job counts: its tasks (a pending array record as its tasks) and whether it holds nodes; undefined: not counted (ended). */
export function countedAs(job: Job): { tasks: number; allocated: boolean } | undefined {
  const queued = QUEUED.has(job.state);
  const allocated = ALLOCATED.has(job.state);
  if (!queued && !allocated) return undefined;
  return { tasks: queued && job.array_task_string ? arrayTaskCount(job.array_task_string) : 1, allocated };
}

const zero = (): Usage => ({ jobs: 0, nodes: 0, cpus: 0, gpus: 0, memory: 0 });

export interface TenantUsage {
  tenant: Usage;
  accounts: Map<string, Usage>;
  users: Map<string, Usage>;
}

/** Usage of every tenant, split by account and user; jobs of no tenant are not counted. */
export function usageByTenant(state: FleetState, tenancy: Tenancy): Map<string, TenantUsage> {
  const out = new Map<string, TenantUsage>();
  const nodeSets = new Map<Usage, Set<string>>();
  const add = (u: Usage, job: Job, tasks: number, allocated: boolean): void => {
    u.jobs += tasks;
    if (!allocated) return;
    let nodes = nodeSets.get(u);
    if (!nodes) nodeSets.set(u, (nodes = new Set()));
    for (const n of job.nodes) nodes.add(`${job.cluster}\u0000${n}`);
    u.nodes = nodes.size;
    u.cpus += job.cpus;
    const t = tresOf(job.tres);
    u.gpus += t.gpus;
    u.memory += t.memory || (job.memory_mb ?? 0) * 1024 ** 2;
  };
  for (const [cluster, record] of state.clusters) {
    for (const job of record.objects.job.values()) {
      const counted = countedAs(job);
      if (!counted) continue;
      const { tasks, allocated } = counted;
      const tenant = tenancy.tenantOf(cluster, job.account);
      if (tenant === undefined) continue;
      let t = out.get(tenant);
      if (!t) out.set(tenant, (t = { tenant: zero(), accounts: new Map(), users: new Map() }));
      add(t.tenant, job, tasks, allocated);
      let a = t.accounts.get(job.account);
      if (!a) t.accounts.set(job.account, (a = zero()));
      add(a, job, tasks, allocated);
      let u = t.users.get(job.user);
      if (!u) t.users.set(job.user, (u = zero()));
      add(u, job, tasks, allocated);
    }
  }
  return out;
}
