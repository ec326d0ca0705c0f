// The job history's table: its typed columns, how rows go in (the appender) and come out.
// Files hold every column but `cluster` and `day`, which are hive partitions in the path
// (`cluster=prod-a/day=2026-12-06/`): Spark refuses a column that is in both.
import {
  DuckDBTimestampTZValue,
  LIST,
  VARCHAR,
  type DuckDBAppender,
  type DuckDBConnection,
} from '@duckdb/node-api';
import type { HistoryJob } from '../../shared/history/index.js';

export const JOB_COLUMNS = `
  cluster VARCHAR NOT NULL,
  day DATE NOT NULL,
  job_id BIGINT NOT NULL,
  submit_time TIMESTAMPTZ NOT NULL,
  start_time TIMESTAMPTZ,
  end_time TIMESTAMPTZ NOT NULL,
  name VARCHAR,
  "user" VARCHAR,
  account VARCHAR,
  "partition" VARCHAR,
  qos VARCHAR,
  state VARCHAR,
  exit_code INTEGER,
  exit_signal INTEGER,
  alloc_tres VARCHAR,
  cpus INTEGER,
  gpus INTEGER,
  memory_mb BIGINT,
  node_count INTEGER,
  node_list VARCHAR,
  nodes VARCHAR[],
  written_at TIMESTAMPTZ`;

/** The columns that make a run's content (all but the key, the partitions and written_at). */
export const CONTENT_COLUMNS = ['start_time', 'end_time', 'name', '"user"', 'account', '"partition"', 'qos', 'state', 'exit_code', 'exit_signal',
  'alloc_tres', 'cpus', 'gpus', 'memory_mb', 'node_count', 'node_list', 'nodes'] as const;

/** Columns read back as a HistoryJob (times as epoch ms). */
export const JOB_SELECT = `cluster, job_id, epoch_ms(submit_time) AS submit_time, epoch_ms(start_time) AS start_time,
  epoch_ms(end_time) AS end_time, name, "user", account, "partition", qos, state, exit_code, exit_signal,
  alloc_tres, cpus, gpus, memory_mb, node_count, node_list, nodes`;

const DAY_MS = 86_400_000;
export const utcDay = (ms: number): string => new Date(Math.floor(ms / DAY_MS) * DAY_MS).toISOString().slice(0, 10);

const ts = (ms: number): DuckDBTimestampTZValue => new DuckDBTimestampTZValue(BigInt(ms) * 1000n);
const NODES = LIST(VARCHAR);

export async function createJobTable(connection: DuckDBConnection, name: string): Promise<void> {
  await connection.run(`CREATE OR REPLACE TEMP TABLE ${name} (${JOB_COLUMNS})`);
}

function appendJob(a: DuckDBAppender, j: HistoryJob, writtenAt: DuckDBTimestampTZValue): void {
  a.appendVarchar(j.cluster);
  a.appendVarchar(utcDay(j.end_time));
  a.appendBigInt(BigInt(j.job_id));
  a.appendTimestampTZ(ts(j.submit_time));
  if (j.start_time === null) a.appendNull();
  else a.appendTimestampTZ(ts(j.start_time));
  a.appendTimestampTZ(ts(j.end_time));
  for (const s of [j.name, j.user, j.account, j.partition, j.qos, j.state]) a.appendVarchar(s);
  a.appendInteger(j.exit_code);
  a.appendInteger(j.exit_signal);
  a.appendVarchar(j.alloc_tres);
  a.appendInteger(j.cpus);
  a.appendInteger(j.gpus);
  a.appendBigInt(BigInt(j.memory_mb));
  a.appendInteger(j.node_count);
  a.appendVarchar(j.node_list);
  a.appendList(j.nodes, NODES);
  a.appendTimestampTZ(writtenAt);
  a.endRow();
}

/** Appends rows to a temp table; the day column is the UTC day of the end time. */
export async function appendJobs(connection: DuckDBConnection, table: string, jobs: Iterable<HistoryJob>, writtenAt: number): Promise<void> {
  const appender = await connection.createAppender(table, 'main', 'temp');
  const at = ts(writtenAt);
  try {
    for (const job of jobs) appendJob(appender, job, at);
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

/** A row read with JOB_SELECT, as a HistoryJob. */
export function rowToJob(r: Record<string, unknown>): HistoryJob {
  const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : (v as number));
  return {
    cluster: r.cluster as string,
    job_id: num(r.job_id),
    submit_time: num(r.submit_time),
    start_time: r.start_time === null ? null : num(r.start_time),
    end_time: num(r.end_time),
    name: r.name as string,
    user: r.user as string,
    account: r.account as string,
    partition: r.partition as string,
    qos: r.qos as string,
    state: r.state as string,
    exit_code: num(r.exit_code),
    exit_signal: num(r.exit_signal),
    alloc_tres: r.alloc_tres as string,
    cpus: num(r.cpus),
    gpus: num(r.gpus),
    memory_mb: num(r.memory_mb),
    node_count: num(r.node_count),
    node_list: r.node_list as string,
    nodes: (r.nodes as string[] | null) ?? [],
  };
}
