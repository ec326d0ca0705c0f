// `sfleet report usage`: CPU-hours, GPU-hours, runs, wait-time percentiles and failure rate per
// account, user, partition or cluster, computed by DuckDB over the history's Parquet files.
import type { HistoryStore } from './history-store.js';
import type { HistoryEngine } from './engine.js';
import { buildWhere, type HistoryFilter, type RowClauses } from './where.js';

/** The group column for each `--by`: names from this table only, never from the caller. */
export const USAGE_GROUPS = { account: 'account', user: '"user"', partition: '"partition"', cluster: 'cluster' } as const;
export type UsageGroup = keyof typeof USAGE_GROUPS;

/** States that count as failures (the run did not finish its work by itself). */
const FAILED = `('FAILED','NODE_FAIL','OUT_OF_MEMORY','TIMEOUT','BOOT_FAIL','DEADLINE')`;

export interface UsageRow {
  key: string;
  jobs: number;
  cpu_hours: number;
  gpu_hours: number;
  wait_p50_s: number | null;
  wait_p90_s: number | null;
  wait_p99_s: number | null;
  failed: number;
  failure_rate: number;
}

export async function usageReport(
  deps: { engine: HistoryEngine; store: HistoryStore },
  by: UsageGroup,
  filter: HistoryFilter,
  rows: RowClauses,
): Promise<UsageRow[]> {
  const group = USAGE_GROUPS[by];
  return deps.store.read(async (useMirror) => {
    const from = await deps.store.source(filter, useMirror);
    if (!from) return [];
    return report(deps.engine, group, from, filter, rows);
  });
}

async function report(engine: HistoryEngine, group: string, from: string, filter: HistoryFilter, rows: RowClauses): Promise<UsageRow[]> {
  const where = buildWhere(filter, rows);
  const run = `greatest(epoch(end_time) - epoch(start_time), 0)`;
  const wait = `epoch(start_time) - epoch(submit_time)`;
  const result = await engine.connection.runAndReadAll(
    `SELECT ${group} AS key, count(*) AS jobs,
        coalesce(sum(cpus * ${run}) FILTER (WHERE start_time IS NOT NULL), 0) / 3600 AS cpu_hours,
        coalesce(sum(gpus * ${run}) FILTER (WHERE start_time IS NOT NULL), 0) / 3600 AS gpu_hours,
        quantile_cont(${wait}, [0.5, 0.9, 0.99]) FILTER (WHERE start_time IS NOT NULL) AS wait,
        count(*) FILTER (WHERE state IN ${FAILED}) AS failed
     FROM ${from} WHERE ${where.sql} GROUP BY 1 ORDER BY cpu_hours DESC, key`,
    where.values,
    where.types,
  );
  return result.getRowObjectsJS().map((r) => {
    const wait = (r.wait as number[] | null) ?? [null, null, null];
    const jobs = Number(r.jobs);
    const failed = Number(r.failed);
    return {
      key: String(r.key),
      jobs,
      cpu_hours: Number(r.cpu_hours),
      gpu_hours: Number(r.gpu_hours),
      wait_p50_s: wait[0] ?? null,
      wait_p90_s: wait[1] ?? null,
      wait_p99_s: wait[2] ?? null,
      failed,
      failure_rate: jobs ? failed / jobs : 0,
    };
  });
}
