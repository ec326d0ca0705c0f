// Reading history exports back (sfleet import history).
export { assertRereadable, formatOf, historyRuns, readHistoryFile, type HistoryFile } from './history-file.js';
export { ImportFileError } from './errors.js';
