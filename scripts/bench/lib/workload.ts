// Cluster contents for the benchmarks, from the project's simulator engine (the same records the
// simulated slurmrestd renders), and the changes the benchmarks stream: jobs that start, get a new
// priority or reason, nodes whose load moves. Deterministic for a seed.
import { toClusterModel, SimEngine } from '../../../sim/index.js';
import { Prng } from '../../../sim/engine/index.js';
import type { ClusterModel, Job, Node } from '../../../shared/model/index.js';

export const SIM_EPOCH_MS = Date.UTC(2026, 10, 26, 12, 0, 0);

export interface ClusterSpec {
  name: string;
  nodes: number;
  /** Active (pending or running) jobs wanted. */
  jobs: number;
  seed: number;
}

/** A cluster's normalized model from the simulator, trimmed to `jobs` active jobs. */
export function simulatedModel(spec: ClusterSpec): ClusterModel {
  const clock = { now: () => SIM_EPOCH_MS };
  // The engine also keeps recently finished jobs: ask for a few more, keep the active ones.
  const engine = new SimEngine(
    { cluster: spec.name, nodes: spec.nodes, jobs: Math.ceil(spec.jobs * 1.12) + 10, seed: spec.seed, nodeFailurePerHour: 0, arrivalPerMin: 0 },
    { clock },
  );
  const model = toClusterModel(engine, { slurmVersion: '23.11.10', apiVersion: 'v0.0.40', controllerHost: `${spec.name}-ctl` });
  const active = model.job.filter((j) => j.state === 'PENDING' || j.state === 'RUNNING');
  let nextId = active.reduce((m, j) => Math.max(m, j.id), 0) + 1;
  // Top up with copies (new ids) when the engine kept fewer active jobs than asked.
  for (let i = 0; active.length < spec.jobs; i++) active.push({ ...active[i % active.length], id: nextId++ });
  model.job = active.slice(0, spec.jobs);
  return model;
}

/** The same cluster under another name (cheaper than simulating it again). */
export function renameModel(model: ClusterModel, name: string): ClusterModel {
  const out = {} as ClusterModel;
  for (const kind of Object.keys(model) as (keyof ClusterModel)[]) {
    (out[kind] as unknown[]) = (model[kind] as { cluster: string }[]).map((o) => ({ ...o, cluster: name }));
  }
  return out;
}

const REASONS = ['Priority', 'Resources', 'None', 'Dependency', 'QOSMaxJobsPerUserLimit'];

/** A changed copy of a job: started, re-prioritized or waiting for another reason. */
export function changeJob(job: Job, rng: Prng, nodes: readonly Node[], nowIso: string): Job {
  const r = rng.next();
  if (job.state === 'PENDING' && r < 0.4) {
    const node = nodes[rng.int(0, nodes.length - 1)].name;
    return { ...job, state: 'RUNNING', state_reason: 'None', start_time: nowIso, nodes: [node], node_list: node, node_count: 1 };
  }
  if (job.state === 'RUNNING' && r < 0.2) {
    return { ...job, state: 'PENDING', state_reason: 'BeginTime', start_time: undefined, nodes: [], node_list: '', priority: rng.int(1000, 100000) };
  }
  return { ...job, priority: rng.int(1000, 100000), state_reason: job.state === 'PENDING' ? rng.pick(REASONS) : job.state_reason };
}

/** A changed copy of a node: its load and allocation moved. */
export function changeNode(node: Node, rng: Prng): Node {
  const alloc = rng.int(0, node.cpus);
  return { ...node, alloc_cpus: alloc, state: alloc === 0 ? 'IDLE' : alloc === node.cpus ? 'ALLOCATED' : 'MIXED', cpu_load: rng.int(0, node.cpus * 100) / 100 };
}

/** New priorities for n distinct pending jobs (fewer when fewer are pending), as `scontrol update`. */
export function changePendingJobs(engine: SimEngine, n: number, rng: Prng): number {
  const pending = [...engine.jobs()].filter((j) => j.state === 'PENDING' && j.arrayTaskId === null && j.arrayJobId === 0);
  let changed = 0;
  for (let i = 0; i < n && pending.length > 0; i++) {
    const job = pending.splice(rng.int(0, pending.length - 1), 1)[0];
    engine.setPriority(job.id, rng.int(1000, 1_000_000));
    changed++;
  }
  return changed;
}

export { Prng };
