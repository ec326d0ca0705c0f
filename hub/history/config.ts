// The hub's `history:` section: the job history kept after Slurm forgets a job.
import { z } from 'zod';
import { duration } from '../../shared/config/index.js';

export const historyConfigSchema = z
  .object({
    enabled: z.boolean().default(true).describe('Keep finished jobs (read from slurmdbd through the agent) as Parquet under <data_dir>/history.'),
    retention: z.number().int().min(1).max(36500).default(365).describe('Days a finished run is kept (by the UTC day it ended); older day partitions are removed.'),
    backfill_interval: duration.default(60_000).describe('How often the owning hub asks the agent for the runs that ended since the last backfill.'),
    backfill_margin: duration.default(600_000).describe('How far each backfill window reaches back before the end of the last one (late slurmdbd records).'),
    initial_lookback: duration.default(7 * 86_400_000).describe('How far back the first backfill of a cluster reaches.'),
    max_window: duration.default(3_600_000).describe('The longest window asked of the agent at once (bounds one answer).'),
    threads: z.number().int().min(1).max(64).default(2).describe('Worker threads of the embedded query engine (DuckDB).'),
    memory_limit: z.string().regex(/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/).default('512MB').describe('Memory limit of the embedded query engine, e.g. 512MB.'),
  })
  .strict();

export type HistoryConfig = z.infer<typeof historyConfigSchema>;
