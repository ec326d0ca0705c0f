// What the hub's export API and `sfleet export` agree on: the formats and the answer headers.
export const EXPORT_FORMATS = ['csv', 'json', 'ndjson', 'parquet', 'avro'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The cursor for the next incremental export (opaque). */
export const CURSOR_HEADER = 'x-sfleet-cursor';
/** How many rows the export holds (tombstones included). */
export const ROWS_HEADER = 'x-sfleet-export-rows';
