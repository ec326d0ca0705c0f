// The common end of `export jobs|nodes|events|audit`: rows the hub holds in memory or reads from
// its own logs, in batches, encoded in the asked format. Text and Avro stream straight from the
// batches; Parquet (whose footer comes last) is written by DuckDB from an NDJSON scratch file
// streamed to disk first, so neither needs every row in memory at once. The scratch rows are the
// rows as built (times epoch ms, no copy per row): DuckDB types them, as encoding each row for
// the text formats first took most of a Parquet export's time.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { HistoryEngine } from '../history/index.js';
import { ExportWriteError } from './errors.js';
import { CONTENT_TYPES, specEncoders, type Encoders, type ExportFormat } from './formats.js';
import { duckdbScratchColumnsOf, duckdbSelectOf, type RowSpec, type SpecRow } from './row-spec.js';

export interface SpecExportDeps {
  /** The analytical engine that writes Parquet (the history's, or one opened for exports). */
  engine: () => Promise<HistoryEngine>;
  /** Where a Parquet export is written before it is sent. */
  scratchDir: string;
}

export interface SpecExport {
  rows: number;
  cursor: string;
  contentType: string;
  body: Readable;
}

const encoders = new Map<RowSpec, Encoders<SpecRow>>();

/** Rows in batches of this many: each is one Avro block, one write. */
export const BATCH_ROWS = 2048;

export async function* batches<T>(items: Iterable<T>, row: (item: T) => SpecRow | undefined): AsyncGenerator<SpecRow[]> {
  let batch: SpecRow[] = [];
  for (const item of items) {
    const r = row(item);
    if (!r) continue;
    batch.push(r);
    if (batch.length >= BATCH_ROWS) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

/** The export's body in `format`: rows are produced only as the body is read. */
export async function specBody(deps: SpecExportDeps, spec: RowSpec, format: ExportFormat, rows: () => AsyncIterable<SpecRow[]>): Promise<{ contentType: string; body: Readable }> {
  if (format !== 'parquet') {
    return { contentType: CONTENT_TYPES[format], body: Readable.from(specEncodersFor(spec)[format](rows())) };
  }
  return { contentType: CONTENT_TYPES.parquet, body: await parquetOf(deps, spec, rows) };
}

async function parquetOf(deps: SpecExportDeps, spec: RowSpec, rows: () => AsyncIterable<SpecRow[]>): Promise<Readable> {
  await mkdir(deps.scratchDir, { recursive: true });
  const base = path.join(deps.scratchDir, `export-${Date.now()}-${randomBytes(4).toString('hex')}`);
  const text = `${base}.ndjson.tmp`;
  const file = `${base}.parquet.tmp`;
  try {
    // NDJSON of the rows as they are (keys beyond the spec's are ignored, missing ones are null).
    await pipeline(Readable.from(scratchLines(rows())), createWriteStream(text, { mode: 0o600 }));
    const connection = await (await deps.engine()).connect();
    try {
      const quoted = (p: string): string => `'${p.replaceAll("'", "''")}'`;
      await connection.run(
        `COPY (SELECT ${duckdbSelectOf(spec)} FROM read_json(${quoted(text)}, format = 'newline_delimited', columns = ${duckdbScratchColumnsOf(spec)})) TO ${quoted(file)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 32768)`,
      );
    } finally {
      connection.closeSync();
    }
    await stat(file);
  } catch (err) {
    await rm(file, { force: true });
    throw new ExportWriteError(`the Parquet file could not be written in ${deps.scratchDir}: ${(err as Error).message.split('\n')[0]?.slice(0, 300)}`);
  } finally {
    await rm(text, { force: true });
  }
  const body = createReadStream(file);
  body.on('close', () => void rm(file, { force: true }));
  return body;
}

async function* scratchLines(rows: AsyncIterable<SpecRow[]>): AsyncGenerator<Buffer> {
  for await (const batch of rows) {
    let text = '';
    for (const r of batch) text += `${JSON.stringify(r)}\n`;
    yield Buffer.from(text);
  }
}

function specEncodersFor(spec: RowSpec): Encoders<SpecRow> {
  let enc = encoders.get(spec);
  if (!enc) encoders.set(spec, (enc = specEncoders(spec)));
  return enc;
}
