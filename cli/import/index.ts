// Reading history exports back (sfleet import history).
export { formatOf, readHistoryFile, type HistoryFile } from './history-file.js';
export { ImportFileError } from './errors.js';
