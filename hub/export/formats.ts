// The text and Avro encodings of export rows, as async generators of bytes (so an HTTP answer
// streams and back-pressure reaches the engine's reads). Parquet is written by DuckDB itself
// (history-export.ts). Times are ISO-8601 UTC text in csv/json/ndjson, timestamp-millis in Avro.
import avro from 'avsc';
import { randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { HISTORY_AVRO_SCHEMA } from './history-avro.js';
import { avroSchemaOf, columnsOf, type RowSpec, type SpecRow } from './row-spec.js';

import { EXPORT_FORMATS, type ExportFormat } from '../../shared/export/index.js';

export { EXPORT_FORMATS, type ExportFormat };

export const CONTENT_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  json: 'application/json',
  ndjson: 'application/x-ndjson',
  parquet: 'application/vnd.apache.parquet',
  avro: 'application/avro',
};

/** One export row: a run (op upsert) or a removed day partition (op delete, job fields null). */
export interface ExportRow {
  op: 'upsert' | 'delete';
  cluster: string;
  job_id: number | null;
  submit_time: number | null;
  start_time: number | null;
  end_time: number | null;
  name: string | null;
  user: string | null;
  account: string | null;
  partition: string | null;
  qos: string | null;
  state: string | null;
  exit_code: number | null;
  exit_signal: number | null;
  alloc_tres: string | null;
  cpus: number | null;
  gpus: number | null;
  memory_mb: number | null;
  node_count: number | null;
  node_list: string | null;
  nodes: string[] | null;
  written_at: number;
  deleted_day: string | null;
}

export const EXPORT_COLUMNS = HISTORY_AVRO_SCHEMA.fields.map((f) => f.name) as readonly (keyof ExportRow)[];

/** How one kind's rows are encoded: its columns in order, which are times (epoch ms), its Avro schema. */
interface RowShape {
  columns: readonly string[];
  times: ReadonlySet<string>;
  avro: object;
}

function textRow(shape: RowShape, r: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of shape.columns) {
    const v = r[c] ?? null;
    out[c] = shape.times.has(c) && typeof v === 'number' ? new Date(v).toISOString() : v;
  }
  return out;
}

// RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled. Lists are
// joined with commas inside one field; maps are JSON text; null is an empty field.
function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = Array.isArray(v) ? v.join(',') : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

type Rows = AsyncIterable<Record<string, unknown>[]>;

async function* csv(shape: RowShape, rows: Rows): AsyncGenerator<Buffer> {
  yield Buffer.from(`${shape.columns.join(',')}\r\n`);
  for await (const batch of rows) {
    yield Buffer.from(batch.map((r) => `${Object.values(textRow(shape, r)).map(csvField).join(',')}\r\n`).join(''));
  }
}

async function* ndjson(shape: RowShape, rows: Rows): AsyncGenerator<Buffer> {
  for await (const batch of rows) yield Buffer.from(batch.map((r) => `${JSON.stringify(textRow(shape, r))}\n`).join(''));
}

async function* json(shape: RowShape, rows: Rows): AsyncGenerator<Buffer> {
  let first = true;
  yield Buffer.from('[');
  for await (const batch of rows) {
    const text = batch.map((r) => JSON.stringify(textRow(shape, r))).join(',\n');
    if (text) yield Buffer.from(`${first ? '\n' : ',\n'}${text}`);
    if (batch.length) first = false;
  }
  yield Buffer.from('\n]\n');
}

const SYNC_SIZE = 16;
const AVRO_HEADER = avro.Type.forSchema({
  type: 'record',
  name: 'org.apache.avro.file.Header',
  fields: [
    { name: 'magic', type: { type: 'fixed', name: 'Magic', size: 4 } },
    { name: 'meta', type: { type: 'map', values: 'bytes' } },
    { name: 'sync', type: { type: 'fixed', name: 'Sync', size: SYNC_SIZE } },
  ],
});
const AVRO_LONG = avro.Type.forSchema('long');

// An Avro object container file (spec 1.11, "Object Container Files"): header with the schema
// and codec, then one deflate block per batch, each followed by the sync marker.
async function* avroFile(shape: RowShape, type: avro.Type, rows: Rows): AsyncGenerator<Buffer> {
  const sync = randomBytes(SYNC_SIZE);
  yield AVRO_HEADER.toBuffer({
    magic: Buffer.from('Obj\x01', 'latin1'),
    meta: { 'avro.schema': Buffer.from(JSON.stringify(shape.avro)), 'avro.codec': Buffer.from('deflate') },
    sync,
  });
  for await (const batch of rows) {
    if (!batch.length) continue;
    const data = deflateRawSync(Buffer.concat(batch.map((r) => type.toBuffer(r))));
    yield Buffer.concat([AVRO_LONG.toBuffer(batch.length), AVRO_LONG.toBuffer(data.length), data, sync]);
  }
}

type Encoder<R> = (rows: AsyncIterable<R[]>) => AsyncGenerator<Buffer>;
export type Encoders<R> = Record<Exclude<ExportFormat, 'parquet'>, Encoder<R>>;

function encodersOf<R>(shape: RowShape): Encoders<R> {
  const type = avro.Type.forSchema(shape.avro as avro.Schema);
  const rows = (r: AsyncIterable<R[]>): Rows => r as unknown as Rows;
  return {
    csv: (r) => csv(shape, rows(r)),
    json: (r) => json(shape, rows(r)),
    ndjson: (r) => ndjson(shape, rows(r)),
    avro: (r) => avroFile(shape, type, rows(r)),
  };
}

export const ENCODERS: Encoders<ExportRow> = encodersOf<ExportRow>({
  columns: EXPORT_COLUMNS,
  times: new Set(['submit_time', 'start_time', 'end_time', 'written_at']),
  avro: HISTORY_AVRO_SCHEMA,
});

/** The encoders of a kind described by a RowSpec (jobs, nodes, events, audit). */
export function specEncoders(spec: RowSpec): Encoders<SpecRow> {
  return encodersOf<SpecRow>({
    columns: columnsOf(spec),
    times: new Set(spec.columns.filter((c) => c.type === 'time').map((c) => c.name)),
    avro: avroSchemaOf(spec),
  });
}
