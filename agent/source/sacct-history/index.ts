export { SacctHistoryReader, parseSacctLine, parseSacctOutput, sacctArgs, ENDED_STATES, SACCT_FIELDS } from './sacct-history.js';
export type { HistoryWindow } from './sacct-history.js';
