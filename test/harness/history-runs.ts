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
