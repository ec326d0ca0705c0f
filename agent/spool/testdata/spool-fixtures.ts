// Jobs and polls for the spool's tests: a poll goes into the spool the way the pipeline does it.
import { diffPoll } from '../../diff/index.js';
import { emptyClusterModel, type Job } from '../../../shared/model/index.js';
import type { DeltaSpool } from '../delta-spool.js';

export function job(id: number, state = 'RUNNING'): Job {
  return {
    cluster: 'c1', id, name: `j${id}`, user: 'bob', account: 'ops', partition: 'batch', qos: 'normal', state,
    state_flags: [], state_reason: 'None', nodes: [], node_list: '', cpus: 1, node_count: 1, working_dir: '', comment: '', tres: '',
  };
}

/** Polls `jobs` into the spool the way the pipeline does; undefined when nothing changed. */
export function poll(spool: DeltaSpool, jobs: Job[]) {
  const model = emptyClusterModel();
  model.job = jobs;
  const d = diffPoll(spool.objects, { model });
  return d.upserts.length || d.removals.length ? spool.append(d.upserts, d.removals) : undefined;
}
