// Exports: the job history as csv, json, ndjson, parquet or avro, full or incremental (README.md).
export { exportHistory, type HistoryExport, type HistoryExportDeps, type HistoryExportRequest } from './history-export.js';
export { EXPORT_FORMATS, CONTENT_TYPES, type ExportFormat, type ExportRow } from './formats.js';
export { filterFingerprint, decodeCursor, encodeCursor, type ExportCursor } from './cursor.js';
export { HISTORY_AVRO_SCHEMA } from './history-avro.js';
export { ExportWriteError } from './errors.js';
