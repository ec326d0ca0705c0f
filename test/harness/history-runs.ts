// Finished runs written into a (stopped or agent-less) hub's job history as its own store would:
// the tests that need a history without a Slurm to produce it (export, backup).
import { join } from 'node:path';
import { HistoryEngine, HistoryStore } from '../../hub/history/index.js';
import type { HistoryJob } from '../../shared/history/index.js';

export async function writeHistoryRuns(dataDir: string, jobs: HistoryJob[]): Promise<void> {
  const engine = await HistoryEngine.open({ threads: 1, memoryLimit: '256MB' });
  try {
    await new HistoryStore({ engine, fence: { owns: () => true } }, { dir: join(dataDir, 'history') }).upsert(jobs);
  } finally {
    engine.close();
  }
}

/** A finished run of alice on cluster east, submitted at t0, ending job_id seconds after an hour. */
export function finishedRun(t0: number, job_id: number): HistoryJob {
  return {
    cluster: 'east', job_id, submit_time: t0, start_time: t0 + 60_000, end_time: t0 + 3_600_000 + job_id * 1000, name: `job-${job_id}`,
    user: 'alice', account: 'research', partition: 'batch', qos: 'normal', state: 'COMPLETED', exit_code: 0, exit_signal: 0,
    alloc_tres: 'billing=2,cpu=2,mem=1G,node=1', cpus: 2, gpus: 0, memory_mb: 1024, node_count: 1, node_list: 'n1', nodes: ['n1'],
  };
}
