// Small jobs, nodes and deltas for unit tests, written once instead of in every test file.
// Each test overrides only the fields it is about. testdata/ is not built (tsconfig excludes it).
import type { Delta } from '../../../generated/fleet/v1/agent.js';
import { ObjectKind, wrapObject, type Job, type Node } from '../../model/index.js';

/** A pending one-CPU job of alice (account research, partition debug) on cluster "a". */
export function testJob(id: number, fields: Partial<Job> = {}): Job {
  return {
    cluster: 'a', id, name: `j${id}`, user: 'alice', account: 'research', partition: 'debug', qos: 'normal', state: 'PENDING',
    state_flags: [], state_reason: 'None', nodes: [], node_list: '', cpus: 1, node_count: 1, working_dir: '', comment: '', tres: '',
    ...fields,
  };
}

/** An idle one-CPU node on cluster "a". */
export function testNode(name: string, fields: Partial<Node> = {}): Node {
  return {
    cluster: 'a', name, state: 'IDLE', flags: [], reason: '', cpus: 1, alloc_cpus: 0, memory_mb: 1, alloc_memory_mb: 0,
    partitions: [], features: [], gres: '', reason_set_by: '', address: name, hostname: name, slurm_version: '',
    ...fields,
  };
}

/** A delta (cluster "a", epoch 1, seq 1 unless given) that upserts these jobs and removes the jobs of removedJobs. */
export function jobDelta(jobs: Job[], fields: Partial<Omit<Delta, 'upserts' | 'removals'>> & { removedJobs?: number[] } = {}): Delta {
  const { removedJobs = [], ...rest } = fields;
  return {
    cluster: 'a', epoch: 1, seq: 1, observed_at: '', snapshot: false, events: [], snapshot_part: 0, snapshot_parts: 0,
    upserts: jobs.map((j) => wrapObject('job', j)),
    removals: removedJobs.map((id) => ({ kind: ObjectKind.OBJECT_KIND_JOB, id: String(id) })),
    ...rest,
  };
}
