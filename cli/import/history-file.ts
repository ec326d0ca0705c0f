// Reads a history export (as `sfleet export history` writes it: parquet, csv, json, ndjson) back
// into runs, a piece at a time whatever the file's size. Every row is checked before any is
// sent, and a bad one is named by file, row and column. Tombstones (op delete: retention removed
// a day) are counted, not imported: they remove nothing on a hub that never held that day.
import { createReadStream, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { EXPORT_FORMATS, type ExportFormat } from '../../shared/export/index.js';
import type { HistoryJobView } from '../../shared/history/index.js';
import { CsvStream, type CsvRecord } from './csv.js';
import { ImportFileError } from './errors.js';

export interface HistoryFile {
  jobs: HistoryJobView[];
  tombstones: number;
}

const TEXT = ['cluster', 'name', 'user', 'account', 'partition', 'qos', 'state', 'alloc_tres', 'node_list'] as const;
const INTS = ['job_id', 'exit_code', 'exit_signal', 'cpus', 'gpus', 'memory_mb', 'node_count'] as const;

/** The format by extension, else by the first bytes. */
export async function formatOf(file: string, given?: string): Promise<ExportFormat> {
  if (given) {
    if (!(EXPORT_FORMATS as readonly string[]).includes(given) || given === 'avro') throw new ImportFileError(`--format ${given}: expected parquet, csv, json or ndjson`);
    return given as ExportFormat;
  }
  const ext = path.extname(file).slice(1).toLowerCase();
  if (ext === 'parquet' || ext === 'csv' || ext === 'json' || ext === 'ndjson') return ext;
  if (ext === 'jsonl') return 'ndjson';
  if (ext === 'avro') throw new ImportFileError(`${file}: Avro exports cannot be imported; export as parquet, csv or ndjson`);
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(4);
    await fh.read(head, 0, 4, 0);
    const text = head.toString('latin1');
    if (text === 'PAR1') return 'parquet';
    if (text.trimStart().startsWith('[')) return 'json';
    if (text.trimStart().startsWith('{')) return 'ndjson';
    return 'csv';
  } finally {
    await fh.close();
  }
}

/** One export row (text times, or epoch ms from Parquet) as a run; `where` names it in errors. */
function toJob(raw: Record<string, unknown>, where: string): HistoryJobView | 'tombstone' {
  const op = raw.op ?? 'upsert';
  if (op === 'delete') return 'tombstone';
  if (op !== 'upsert') throw new ImportFileError(`${where}: op "${String(op).slice(0, 32)}" is neither upsert nor delete`);
  const fail = (col: string, why: string): never => {
    throw new ImportFileError(`${where}: ${col}: ${why}`);
  };
  const time = (col: string, nullable: boolean): string | null => {
    const v = raw[col];
    if (v === null || v === undefined || v === '') return nullable ? null : fail(col, 'missing');
    const ms = typeof v === 'number' || typeof v === 'bigint' ? Number(v) : Date.parse(String(v));
    if (!Number.isFinite(ms)) fail(col, `"${String(v).slice(0, 64)}" is not an ISO-8601 time`);
    return new Date(ms).toISOString();
  };
  const job: Record<string, unknown> = {};
  for (const col of TEXT) {
    const v = raw[col];
    job[col] = v === null || v === undefined ? '' : String(v);
  }
  if (job.cluster === '') fail('cluster', 'missing');
  for (const col of INTS) {
    const v = raw[col];
    const n = typeof v === 'bigint' ? Number(v) : typeof v === 'string' && v !== '' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n)) fail(col, v === null || v === undefined || v === '' ? 'missing' : `"${String(v).slice(0, 32)}" is not an integer`);
    job[col] = n;
  }
  job.submit_time = time('submit_time', false);
  job.start_time = time('start_time', true);
  job.end_time = time('end_time', false);
  const nodes = raw.nodes;
  job.nodes = Array.isArray(nodes) ? nodes.map(String) : typeof nodes === 'string' && nodes !== '' ? nodes.split(',') : [];
  return job as unknown as HistoryJobView;
}

/** A row of the file and where it is (for errors). */
interface RawRow {
  raw: unknown;
  where: string;
}

/** The file's rows in order, read a piece at a time (Parquet through DuckDB's streaming result). */
async function* rowsOf(file: string, format: ExportFormat): AsyncGenerator<RawRow> {
  if (format === 'parquet') {
    const db = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
    try {
      let n = 0;
      let result;
      try {
        const c = await db.connect();
        const times = ['submit_time', 'start_time', 'end_time'].map((t) => `epoch_ms(${t}) AS ${t}`).join(', ');
        result = await c.stream(`SELECT * EXCLUDE (submit_time, start_time, end_time), ${times} FROM read_parquet($file)`, { file });
      } catch (err) {
        throw new ImportFileError(`${file}: not a readable Parquet history export: ${(err as Error).message.split('\n')[0]}`);
      }
      for await (const rows of result.yieldRowObjectJs()) for (const raw of rows) yield { raw, where: `${file}: row ${++n}` };
    } finally {
      db.closeSync();
    }
    return;
  }
  const input = createReadStream(file, { encoding: 'utf8', highWaterMark: 256 * 1024 });
  if (format === 'ndjson') {
    let n = 0;
    for await (const line of createInterface({ input, crlfDelay: Infinity })) {
      n++;
      if (line.trim() === '') continue;
      let raw: unknown;
      try {
        raw = JSON.parse(line);
      } catch (err) {
        throw new ImportFileError(`${file}:${n}: not JSON: ${(err as Error).message}`);
      }
      yield { raw, where: `${file}:${n}` };
    }
    return;
  }
  if (format === 'json') {
    const array = new JsonArrayStream(file);
    let n = 0;
    for await (const chunk of input) for (const text of array.feed(chunk as string)) yield { raw: parseElement(text, file, ++n), where: `${file}: row ${n}` };
    array.end();
    return;
  }
  const csv = new CsvStream(file);
  const emit = (records: CsvRecord[]): RawRow[] => records.map((r) => ({ raw: Object.fromEntries(csv.columns!.map((h, k) => [h, r.fields[k] ?? ''])), where: `${file}:${r.line}` }));
  for await (const chunk of input) yield* emit(csv.feed(chunk as string));
  yield* emit(csv.feed('', true));
}

function parseElement(text: string, file: string, n: number): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ImportFileError(`${file}: row ${n}: not JSON: ${(err as Error).message}`);
  }
}

/**
 * The elements of one top-level JSON array, as texts, from chunks: depth and string state are
 * tracked across chunks, so only one element at a time is held.
 */
class JsonArrayStream {
  private state: 'before' | 'in' | 'after' = 'before';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private element = '';

  constructor(private readonly file: string) {}

  feed(chunk: string): string[] {
    const out: string[] = [];
    for (const ch of chunk) {
      if (this.state === 'before') {
        if (ch === '[') this.state = 'in';
        else if (!/\s/.test(ch)) throw new ImportFileError(`${this.file}: a JSON export is one array of rows`);
        continue;
      }
      if (this.state === 'after') {
        if (!/\s/.test(ch)) throw new ImportFileError(`${this.file}: text after the array of rows`);
        continue;
      }
      if (this.inString) {
        this.element += ch;
        if (this.escaped) this.escaped = false;
        else if (ch === '\\') this.escaped = true;
        else if (ch === '"') this.inString = false;
        continue;
      }
      if (this.depth === 0 && (ch === ',' || ch === ']')) {
        if (this.element.trim() !== '') out.push(this.element);
        else if (ch === ',') throw new ImportFileError(`${this.file}: an empty element in the array of rows`);
        this.element = '';
        if (ch === ']') this.state = 'after';
        continue;
      }
      if (ch === '"') this.inString = true;
      else if (ch === '{' || ch === '[') this.depth++;
      else if (ch === '}' || ch === ']') this.depth--;
      this.element += ch;
    }
    return out;
  }

  end(): void {
    if (this.state === 'before') throw new ImportFileError(`${this.file}: a JSON export is one array of rows`);
    if (this.state === 'in') throw new ImportFileError(`${this.file}: the array of rows is not closed`);
  }
}

/** Every run of the file, checked as it is read; `onTombstone` counts what retention removed. */
export async function* historyRuns(file: string, given?: string, onTombstone?: () => void): AsyncGenerator<HistoryJobView> {
  const format = await formatOf(file, given);
  for await (const { raw, where } of rowsOf(file, format)) {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ImportFileError(`${where}: not an object`);
    const job = toJob(raw as Record<string, unknown>, where);
    if (job === 'tombstone') onTombstone?.();
    else yield job;
  }
}

/**
 * The import reads each file twice (every row checked before any is sent, then sent), so a pipe
 * or a FIFO, which gives its data once, would be checked and then send nothing.
 */
export function assertRereadable(file: string): void {
  let regular: boolean;
  try {
    regular = statSync(file).isFile();
  } catch (err) {
    throw new ImportFileError(`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
  if (!regular) throw new ImportFileError(`${file}: not a regular file (a pipe or device is read once, the import reads each file twice); save it to a file first`);
}

/** A whole file's runs at once (tests, small files). */
export async function readHistoryFile(file: string, given?: string): Promise<HistoryFile> {
  const jobs: HistoryJobView[] = [];
  let tombstones = 0;
  for await (const job of historyRuns(file, given, () => tombstones++)) jobs.push(job);
  return { jobs, tombstones };
}
