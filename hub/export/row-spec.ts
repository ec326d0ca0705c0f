// What one export kind's rows look like, said once: the columns and their types. The Avro schema
// (published in docs/schemas/<kind>-export.avsc), the CSV header, the text encodings and the
// Parquet column types are all derived from it, so the formats cannot drift apart.
// Every row starts with `op` (upsert | delete); key columns are never null on a delete.
export type ColumnType = 'string' | 'long' | 'int' | 'double' | 'boolean' | 'time' | 'strings' | 'map';

export interface Column {
  name: string;
  type: ColumnType;
  /** Null on an upsert too (a field Slurm may leave unset). Non-key columns are always nullable, for tombstones. */
  key?: boolean;
  doc?: string;
}

export interface RowSpec {
  /** The Avro record name, e.g. JobExportRow. */
  record: string;
  doc: string;
  columns: readonly Column[];
}

/** One export row: `op` and the spec's columns; times are epoch ms, lists arrays, maps objects. */
export type SpecRow = { op: 'upsert' | 'delete' } & Record<string, unknown>;

const TIME = { type: 'long', logicalType: 'timestamp-millis' } as const;
const AVRO: Record<ColumnType, unknown> = {
  string: 'string',
  long: 'long',
  int: 'int',
  double: 'double',
  boolean: 'boolean',
  time: TIME,
  strings: { type: 'array', items: 'string' },
  map: { type: 'map', values: 'string' },
};

/** The Avro schema of a spec's rows (namespace io.slurmfleet.export.v1, as the history schema). */
export function avroSchemaOf(spec: RowSpec): Record<string, unknown> {
  return {
    type: 'record',
    name: spec.record,
    namespace: 'io.slurmfleet.export.v1',
    doc: spec.doc,
    fields: [
      { name: 'op', type: { type: 'enum', name: 'Op', symbols: ['upsert', 'delete'] }, doc: 'upsert: the row as it is now; delete: the row with this key is gone (see the export README for a delete that names only a cluster).' },
      ...spec.columns.map((c) => ({
        name: c.name,
        ...(c.key ? { type: AVRO[c.type] } : { type: ['null', AVRO[c.type]], default: null }),
        ...(c.doc ? { doc: c.doc } : {}),
      })),
    ],
  };
}

const DUCKDB: Record<ColumnType, string> = {
  string: 'VARCHAR',
  long: 'BIGINT',
  int: 'INTEGER',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
  time: 'TIMESTAMPTZ',
  strings: 'VARCHAR[]',
  map: 'MAP(VARCHAR, VARCHAR)',
};

const q = (s: string): string => `'${s.replaceAll("'", "''")}'`;
const ident = (s: string): string => `"${s.replaceAll('"', '""')}"`;

/** DuckDB's read_json `columns` for the Parquet scratch NDJSON: the spec's types, times as epoch ms. */
export function duckdbScratchColumnsOf(spec: RowSpec): string {
  return `{${[`op: 'VARCHAR'`, ...spec.columns.map((c) => `${q(c.name)}: ${q(c.type === 'time' ? 'BIGINT' : DUCKDB[c.type])}`)].join(', ')}}`;
}

/** The select list that gives the scratch rows Parquet's column types (epoch ms to TIMESTAMPTZ). */
export function duckdbSelectOf(spec: RowSpec): string {
  // Whole seconds, then the milliseconds: exact, where a division to a double could round.
  const col = (c: Column): string => (c.type === 'time'
    ? `to_timestamp(${ident(c.name)} // 1000) + to_milliseconds(${ident(c.name)} % 1000) AS ${ident(c.name)}`
    : ident(c.name));
  return ['op', ...spec.columns.map(col)].join(', ');
}

/** The column names in order, op first. */
export const columnsOf = (spec: RowSpec): string[] => ['op', ...spec.columns.map((c) => c.name)];
