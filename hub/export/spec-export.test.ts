// The Parquet of every RowSpec kind (jobs, nodes, events, audit), read back by an independent
// DuckDB: each column has the type its spec names, and every value, times to the millisecond
// (before 1970 too), lists, maps and nulls, is the one the row carried.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HistoryEngine } from '../history/index.js';
import { KIND_SPECS } from './kind-specs.js';
import type { ColumnType, RowSpec, SpecRow } from './row-spec.js';
import { specBody } from './spec-export.js';

// What DuckDB reports for each column type: written out here, not taken from row-spec.ts.
const DESCRIBED: Record<ColumnType, string> = {
  string: 'VARCHAR',
  long: 'BIGINT',
  int: 'INTEGER',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
  time: 'TIMESTAMP WITH TIME ZONE',
  strings: 'VARCHAR[]',
  map: 'MAP(VARCHAR, VARCHAR)',
};

const TIMES = [Date.UTC(2026, 11, 1, 10, 0, 0, 123), Date.UTC(1969, 11, 31, 23, 59, 58, 500)];

/** Row `i` of a spec: a value of its type in every column (null in one column of each), times with milliseconds. */
function row(spec: RowSpec, i: number): SpecRow {
  const r: SpecRow = { op: 'upsert' };
  spec.columns.forEach((c, k) => {
    const v: Record<ColumnType, unknown> = {
      string: `v${i},"${k}"`, long: 2 ** 40 + i, int: i * 10 + k, double: i + 0.25, boolean: i % 2 === 0,
      time: TIMES[i % 2], strings: i ? [`a${k}`, 'b,"c"'] : [], map: i ? { key: `x${k}`, 'q"': 'y' } : {},
    };
    r[c.name] = !c.key && k === i + 2 ? null : v[c.type];
  });
  return r;
}

let dir: string;
let engine: HistoryEngine;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spec-export-'));
  engine = await HistoryEngine.open({ threads: 1, memoryLimit: '128MB' });
});
afterAll(() => engine?.close());

describe('Parquet of the RowSpec kinds', () => {
  it.each(Object.entries(KIND_SPECS))('%s: the spec\'s column types and every value as given', async (kind, spec) => {
    const rows = [row(spec, 0), row(spec, 1), row(spec, 2)];
    const { body } = await specBody({ engine: async () => engine, scratchDir: join(dir, 'scratch') }, spec, 'parquet', async function* () {
      yield rows;
    });
    const file = join(dir, `${kind}.parquet`);
    writeFileSync(file, await buffer(body));

    const reader = await (await DuckDBInstance.create(':memory:')).connect();
    try {
      const described = (await reader.runAndReadAll(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${file}'))`)).getRowObjectsJS();
      expect(described.map((d) => [d.column_name, d.column_type])).toEqual([['op', 'VARCHAR'], ...spec.columns.map((c) => [c.name, DESCRIBED[c.type]])]);

      // Times as epoch ms, maps as their entries: plain values to compare with the rows given.
      const select = ['op', ...spec.columns.map((c) => (c.type === 'time' ? `epoch_ms("${c.name}") AS "${c.name}"` : c.type === 'map' ? `map_entries("${c.name}") AS "${c.name}"` : `"${c.name}"`))];
      const read = (await reader.runAndReadAll(`SELECT ${select.join(', ')} FROM read_parquet('${file}')`)).getRowObjectsJS();
      const expected = rows.map((r) => Object.fromEntries(Object.entries(r).map(([name, v]) => {
        const type = spec.columns.find((c) => c.name === name)?.type;
        if (v === null) return [name, null];
        if (type === 'long' || type === 'time') return [name, BigInt(v as number)];
        if (type === 'map') return [name, Object.entries(v as Record<string, string>).map(([key, value]) => ({ key, value }))];
        return [name, v];
      })));
      expect(read).toEqual(expected);
    } finally {
      reader.closeSync();
    }
  });
});
