export type { HistoryJob, HistoryJobView } from './job-record.js';
export { historyKey } from './job-record.js';
export { parseAllocTres } from './tres.js';
