// Job history: finished runs kept as Parquet after Slurm forgets them (README.md).
export { HistoryEngine, type EngineLimits } from './engine.js';
export { HistoryStore, type HistoryFence, type RemovedDay, type UpsertResult } from './history-store.js';
export { HistoryBackfill, type BackfillReader, type BackfillState } from './backfill.js';
export { usageReport, USAGE_GROUPS, type UsageGroup, type UsageRow } from './usage-report.js';
export { buildWhere, type HistoryFilter, type RowClauses } from './where.js';
export { HistoryDisabledError, HistoryNotOwnerError } from './errors.js';
export { HistoryService, toHistoryJob, type HistoryServiceDeps } from './history-service.js';
export { historyConfigSchema, type HistoryConfig } from './config.js';
