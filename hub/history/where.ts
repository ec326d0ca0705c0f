// A history filter and the caller's RBAC row clauses as one WHERE clause. Values reach DuckDB
// only as bound parameters; the SQL text holds column names from this file and nothing else.
import { LIST, VARCHAR, type DuckDBType, type DuckDBValue, listValue, DuckDBTimestampTZValue } from '@duckdb/node-api';

export interface HistoryFilter {
  cluster?: string;
  user?: string;
  account?: string;
  partition?: string;
  qos?: string;
  state?: string;
  job_id?: number;
  /** Epoch ms: runs that ended at or after. */
  since?: number;
  /** Epoch ms: runs that ended before. */
  until?: number;
}

/** RowFilter.toJSON(): null is every row; otherwise any clause, all fields of a clause. */
export type RowClauses = readonly Partial<Record<'cluster' | 'account' | 'user' | 'partition', string[]>>[] | null;

export interface BoundWhere {
  sql: string;
  values: Record<string, DuckDBValue>;
  types: Record<string, DuckDBType>;
}

const COLUMN = { cluster: 'cluster', user: '"user"', account: 'account', partition: '"partition"', qos: 'qos', state: 'state' } as const;
const ts = (ms: number): DuckDBTimestampTZValue => new DuckDBTimestampTZValue(BigInt(Math.trunc(ms)) * 1000n);

export function buildWhere(filter: HistoryFilter, rows: RowClauses): BoundWhere {
  const parts: string[] = ['true'];
  const values: Record<string, DuckDBValue> = {};
  const types: Record<string, DuckDBType> = {};
  for (const key of Object.keys(COLUMN) as (keyof typeof COLUMN)[]) {
    const v = filter[key];
    if (v === undefined) continue;
    parts.push(`${COLUMN[key]} = $f_${key}`);
    values[`f_${key}`] = v;
  }
  if (filter.job_id !== undefined) {
    parts.push('job_id = $f_job_id');
    values.f_job_id = BigInt(filter.job_id);
  }
  if (filter.since !== undefined) {
    parts.push('end_time >= $f_since');
    values.f_since = ts(filter.since);
  }
  if (filter.until !== undefined) {
    parts.push('end_time < $f_until');
    values.f_until = ts(filter.until);
  }
  if (rows !== null) {
    const alternatives = rows.map((clause, i) => {
      const conds = Object.entries(clause).map(([field, allowed]) => {
        const name = `r${i}_${field}`;
        const column = COLUMN[field as keyof typeof COLUMN];
        // A value holding * or ? is a glob (tenants name their clusters and accounts so): DuckDB's
        // GLOB, with [ made literal as in the gate's globMatch.
        const globs = (allowed ?? []).filter((v) => /[*?]/.test(v));
        values[name] = listValue((allowed ?? []).filter((v) => !/[*?]/.test(v)));
        types[name] = LIST(VARCHAR);
        if (!globs.length) return `list_contains($${name}, ${column})`;
        values[`${name}_g`] = listValue(globs.map((g) => g.replace(/\[/g, '[[]')));
        types[`${name}_g`] = LIST(VARCHAR);
        return `(list_contains($${name}, ${column}) OR len(list_filter($${name}_g, p -> ${column} GLOB p)) > 0)`;
      });
      return conds.length ? `(${conds.join(' AND ')})` : 'true';
    });
    parts.push(alternatives.length ? `(${alternatives.join(' OR ')})` : 'false');
  }
  return { sql: parts.join(' AND '), values, types };
}
