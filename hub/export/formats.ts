// The text and Avro encodings of export rows, as async generators of bytes (so an HTTP answer
// streams and back-pressure reaches the engine's reads). Parquet is written by DuckDB itself
// (history-export.ts). Times are ISO-8601 UTC text in csv/json/ndjson, timestamp-millis in Avro.
import avro from 'avsc';
import { randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { HISTORY_AVRO_SCHEMA } from './history-avro.js';

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
const TIMES = new Set<keyof ExportRow>(['submit_time', 'start_time', 'end_time', 'written_at']);

function textRow(r: ExportRow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of EXPORT_COLUMNS) {
    const v = r[c];
    out[c] = TIMES.has(c) && typeof v === 'number' ? new Date(v).toISOString() : v;
  }
  return out;
}

// RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled. Lists are
// joined with commas inside one field; null is an empty field.
function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = Array.isArray(v) ? v.join(',') : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

async function* csv(rows: AsyncIterable<ExportRow[]>): AsyncGenerator<Buffer> {
  yield Buffer.from(`${EXPORT_COLUMNS.join(',')}\r\n`);
  for await (const batch of rows) {
    yield Buffer.from(batch.map((r) => `${Object.values(textRow(r)).map(csvField).join(',')}\r\n`).join(''));
  }
}

async function* ndjson(rows: AsyncIterable<ExportRow[]>): AsyncGenerator<Buffer> {
  for await (const batch of rows) yield Buffer.from(batch.map((r) => `${JSON.stringify(textRow(r))}\n`).join(''));
}

async function* json(rows: AsyncIterable<ExportRow[]>): AsyncGenerator<Buffer> {
  let first = true;
  yield Buffer.from('[');
  for await (const batch of rows) {
    const text = batch.map((r) => JSON.stringify(textRow(r))).join(',\n');
    if (text) yield Buffer.from(`${first ? '\n' : ',\n'}${text}`);
    if (batch.length) first = false;
  }
  yield Buffer.from('\n]\n');
}

const AVRO_TYPE = avro.Type.forSchema(HISTORY_AVRO_SCHEMA as unknown as avro.Schema);
const SYNC_SIZE = 16;

// An Avro object container file (spec 1.11, "Object Container Files"): header with the schema
// and codec, then one deflate block per batch, each followed by the sync marker.
async function* avroFile(rows: AsyncIterable<ExportRow[]>): AsyncGenerator<Buffer> {
  const sync = randomBytes(SYNC_SIZE);
  const header = avro.Type.forSchema({
    type: 'record',
    name: 'org.apache.avro.file.Header',
    fields: [
      { name: 'magic', type: { type: 'fixed', name: 'Magic', size: 4 } },
      { name: 'meta', type: { type: 'map', values: 'bytes' } },
      { name: 'sync', type: { type: 'fixed', name: 'Sync', size: SYNC_SIZE } },
    ],
  });
  yield header.toBuffer({
    magic: Buffer.from('Obj\x01', 'latin1'),
    meta: { 'avro.schema': Buffer.from(JSON.stringify(HISTORY_AVRO_SCHEMA)), 'avro.codec': Buffer.from('deflate') },
    sync,
  });
  const long = avro.Type.forSchema('long');
  for await (const batch of rows) {
    if (!batch.length) continue;
    const data = deflateRawSync(Buffer.concat(batch.map((r) => AVRO_TYPE.toBuffer(r))));
    yield Buffer.concat([long.toBuffer(batch.length), long.toBuffer(data.length), data, sync]);
  }
}

export const ENCODERS: Record<Exclude<ExportFormat, 'parquet'>, (rows: AsyncIterable<ExportRow[]>) => AsyncGenerator<Buffer>> = {
  csv,
  json,
  ndjson,
  avro: avroFile,
};
