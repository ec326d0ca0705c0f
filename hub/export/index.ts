// Exports: the job history, and what the hub holds now (jobs, nodes) or has logged (events,
// audit), as csv, json, ndjson, parquet or avro, full or incremental (README.md).
export { exportHistory, type HistoryExport, type HistoryExportDeps, type HistoryExportRequest } from './history-export.js';
export { EXPORT_FORMATS, CONTENT_TYPES, type ExportFormat, type ExportRow } from './formats.js';
export { filterFingerprint, decodeCursor, encodeCursor, MAX_CURSOR_LENGTH, type ExportCursor } from './cursor.js';
export { HISTORY_AVRO_SCHEMA } from './history-avro.js';
export { ExportCursorTooOldError, ExportSourceMissingError, ExportWriteError } from './errors.js';
export { ChangeJournal } from './change-journal.js';
export { ExportJournal } from './journal-file.js';
export { shareJournalStart } from './group-journal.js';
export { exportFleet, type FleetExportFilter, type FleetExportRequest } from './fleet-export.js';
export { exportAudit, exportEvents } from './log-export.js';
export { KIND_SPECS, type FleetExportKind } from './kind-specs.js';
export { avroSchemaOf } from './row-spec.js';
export type { SpecExport, SpecExportDeps } from './spec-export.js';
