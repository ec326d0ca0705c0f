// Reads a history export (as `sfleet export history` writes it: parquet, csv, json, ndjson) back
// into runs. Every row is checked before any is sent, and a bad one is named by file, row and
// column. Tombstones (op delete: retention removed a day) are counted, not imported: they remove
// nothing on a hub that never held that day.
import { open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { EXPORT_FORMATS, type ExportFormat } from '../../shared/export/index.js';
import type { HistoryJobView } from '../../shared/history/index.js';
import { parseCsv } from './csv.js';
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

async function rowsOf(file: string, format: ExportFormat): Promise<{ rows: Record<string, unknown>[]; label: (i: number) => string }> {
  if (format === 'parquet') {
    const db = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
    try {
      const c = await db.connect();
      const times = ['submit_time', 'start_time', 'end_time'].map((t) => `epoch_ms(${t}) AS ${t}`).join(', ');
      const result = await c.runAndReadAll(`SELECT * EXCLUDE (submit_time, start_time, end_time), ${times} FROM read_parquet($file)`, { file });
      return { rows: result.getRowObjectsJS() as Record<string, unknown>[], label: (i) => `${file}: row ${i + 1}` };
    } catch (err) {
      throw new ImportFileError(`${file}: not a readable Parquet history export: ${(err as Error).message.split('\n')[0]}`);
    } finally {
      db.closeSync();
    }
  }
  const text = await readFile(file, 'utf8');
  if (format === 'json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new ImportFileError(`${file}: not JSON: ${(err as Error).message}`);
    }
    if (!Array.isArray(parsed)) throw new ImportFileError(`${file}: a JSON export is one array of rows`);
    return { rows: parsed as Record<string, unknown>[], label: (i) => `${file}: row ${i + 1}` };
  }
  if (format === 'ndjson') {
    const lines = text.split('\n');
    const rows: Record<string, unknown>[] = [];
    const lineOf: number[] = [];
    lines.forEach((line, n) => {
      if (line.trim() === '') return;
      try {
        rows.push(JSON.parse(line) as Record<string, unknown>);
      } catch (err) {
        throw new ImportFileError(`${file}:${n + 1}: not JSON: ${(err as Error).message}`);
      }
      lineOf.push(n + 1);
    });
    return { rows, label: (i) => `${file}:${lineOf[i]}` };
  }
  const { header, records } = parseCsv(text, file);
  return { rows: records.map((r) => Object.fromEntries(header.map((h, k) => [h, r.fields[k] ?? '']))), label: (i) => `${file}:${records[i].line}` };
}

export async function readHistoryFile(file: string, given?: string): Promise<HistoryFile> {
  const format = await formatOf(file, given);
  const { rows, label } = await rowsOf(file, format);
  const jobs: HistoryJobView[] = [];
  let tombstones = 0;
  rows.forEach((raw, i) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ImportFileError(`${label(i)}: not an object`);
    const job = toJob(raw, label(i));
    if (job === 'tombstone') tombstones++;
    else jobs.push(job);
  });
  return { jobs, tombstones };
}
