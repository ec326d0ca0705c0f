import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { assertRereadable, formatOf, historyRuns, ImportFileError, readHistoryFile } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'import-'));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

// Two rows as `sfleet export history --format csv` writes them (CRLF, quoted fields, empty = null) and a tombstone.
const HEADER = 'op,cluster,job_id,submit_time,start_time,end_time,name,user,account,partition,qos,state,exit_code,exit_signal,alloc_tres,cpus,gpus,memory_mb,node_count,node_list,nodes,written_at,deleted_day';
const CSV = [
  HEADER,
  'upsert,east,7,2026-11-20T08:00:07.000Z,,2026-11-20T09:00:07.000Z,"prep, ""quick""",alice,research,batch,normal,CANCELLED,0,0,"billing=4,cpu=4",4,0,1024,2,n[1-2],"n1,n2",2026-11-21T00:00:00.000Z,',
  'upsert,east,8,2026-11-20T08:00:08.000Z,2026-11-20T08:01:08.000Z,2026-11-20T09:00:08.000Z,job-8,bob,research,batch,normal,COMPLETED,0,0,cpu=1,1,0,500,1,n1,n1,2026-11-21T00:00:00.000Z,',
  'delete,east,,,,,,,,,,,,,,,,,,,,2026-11-22T00:00:00.000Z,2026-10-01',
  '',
].join('\r\n');

describe('reading a history export back (sfleet import history)', () => {
  it('csv: quoted fields, empty fields as null, node lists in one field; tombstones counted, not imported', async () => {
    const read = await readHistoryFile(file('h.csv', CSV));
    expect(read.tombstones).toBe(1);
    expect(read.jobs).toEqual([
      {
        cluster: 'east', job_id: 7, submit_time: '2026-11-20T08:00:07.000Z', start_time: null, end_time: '2026-11-20T09:00:07.000Z', name: 'prep, "quick"', user: 'alice',
        account: 'research', partition: 'batch', qos: 'normal', state: 'CANCELLED', exit_code: 0, exit_signal: 0, alloc_tres: 'billing=4,cpu=4', cpus: 4, gpus: 0, memory_mb: 1024,
        node_count: 2, node_list: 'n[1-2]', nodes: ['n1', 'n2'],
      },
      expect.objectContaining({ job_id: 8, start_time: '2026-11-20T08:01:08.000Z', nodes: ['n1'] }),
    ]);
  });

  it('ndjson and json give the same runs as csv', async () => {
    const csv = await readHistoryFile(file('same.csv', CSV));
    const rows = csv.jobs.map((j) => ({ op: 'upsert', ...j, written_at: '2026-11-21T00:00:00.000Z', deleted_day: null }));
    expect((await readHistoryFile(file('h.ndjson', rows.map((r) => JSON.stringify(r)).join('\n') + '\n'))).jobs).toEqual(csv.jobs);
    expect((await readHistoryFile(file('h.json', JSON.stringify(rows)))).jobs).toEqual(csv.jobs);
  });

  it('knows the format by name, else by the first bytes; refuses avro', async () => {
    expect(await formatOf(file('x.jsonl', '{}'))).toBe('ndjson');
    expect(await formatOf(file('noext-1', 'PAR1....'))).toBe('parquet');
    expect(await formatOf(file('noext-2', '[{"a":1}]'))).toBe('json');
    expect(await formatOf(file('noext-3', '{"a":1}\n'))).toBe('ndjson');
    expect(await formatOf(file('noext-4', `${HEADER}\r\n`))).toBe('csv');
    await expect(formatOf(file('x.avro', 'Obj'))).rejects.toThrow(/Avro exports cannot be imported/);
    await expect(formatOf('x', 'xlsx')).rejects.toThrow('--format xlsx: expected parquet, csv, json or ndjson');
  });

  it('names the file, line and column of a bad row', async () => {
    const bad = (name: string, text: string) => readHistoryFile(file(name, text)).then(() => 'read', (e: Error) => (e instanceof ImportFileError ? e.message : `other: ${e.message}`));
    expect(await bad('a.csv', CSV.replace(',job-8,', ',job-8,extra,'))).toMatch(/a\.csv:3: 24 fields, the header has 23$/);
    expect(await bad('b.csv', CSV.replace('east,8,', 'east,eight,'))).toMatch(/b\.csv:3: job_id: "eight" is not an integer$/);
    expect(await bad('c.csv', CSV.replace('2026-11-20T09:00:08.000Z', ''))).toMatch(/c\.csv:3: end_time: missing$/);
    expect(await bad('d.csv', `${HEADER}\r\nupsert,east,"7\r\n`)).toMatch(/d\.csv:2: a quoted field is not closed$/);
    expect(await bad('e.ndjson', '\n{"op":"upsert"}\n')).toMatch(/e\.ndjson:2: cluster: missing$/);
    expect(await bad('f.ndjson', `${JSON.stringify({ op: 'merge' })}\n`)).toMatch(/f\.ndjson:1: op "merge" is neither upsert nor delete$/);
    expect(await bad('g.ndjson', 'not json\n')).toMatch(/g\.ndjson:1: not JSON/);
    expect(await bad('h.json', '{"rows":[]}')).toMatch(/h\.json: a JSON export is one array of rows$/);
    expect(await bad('i.parquet', 'PAR1 but not really')).toMatch(/i\.parquet: not a readable Parquet history export/);
    expect(await bad('empty.csv', '')).toMatch(/empty\.csv: empty \(no header line\)$/);
  });
});

describe('reading a history export a piece at a time', () => {
  const ROW = (n: number) => ({ op: 'upsert', cluster: 'east', job_id: n, submit_time: '2026-11-20T08:00:00.000Z', start_time: null, end_time: '2026-11-20T09:00:00.000Z', name: `job "${n}", [x] {y}`, user: 'alice', account: 'research', partition: 'batch', qos: 'normal', state: 'COMPLETED', exit_code: 0, exit_signal: 0, alloc_tres: 'cpu=1', cpus: 1, gpus: 0, memory_mb: 1, node_count: 1, node_list: 'n1', nodes: ['n1'] });

  it('csv: a record split anywhere between two chunks (inside quotes, between doubled quotes, inside CRLF) reads the same', async () => {
    const { CsvStream, parseCsv } = await import('./csv.js');
    const whole = parseCsv(CSV, 'whole.csv').records;
    for (let cut = 0; cut <= CSV.length; cut++) {
      const s = new CsvStream('cut.csv');
      expect([...s.feed(CSV.slice(0, cut)), ...s.feed(CSV.slice(cut), true)], `cut at ${cut}`).toEqual(whole);
    }
  });

  it('json and ndjson: rows come out before the file has been read to its end', async () => {
    // A bad row at the end of a long file: the first runs are handed on before the error, which
    // a reader that holds the whole file cannot do.
    const rows = Array.from({ length: 20_000 }, (_, i) => ROW(i + 1));
    for (const [name, text] of [
      ['long.ndjson', rows.map((r) => JSON.stringify(r)).join('\n') + '\n{"op":"upsert"}\n'],
      ['long.json', JSON.stringify([...rows, { op: 'upsert' }])],
      ['long.csv', [Object.keys(ROW(0)).join(','), ...rows.map((r) => Object.values(r).map((v) => (Array.isArray(v) ? `"${v.join(',')}"` : typeof v === 'string' ? `"${v.replace(/"/g, '""')}"` : String(v ?? ''))).join(',')), 'upsert,,1,,,,,,,,,,,,,,,,,,'].join('\r\n')],
    ] as const) {
      const seen: number[] = [];
      const err = await (async () => {
        for await (const job of historyRuns(file(name, text))) seen.push(job.job_id);
      })().then(() => undefined, (e: Error) => e.message);
      expect(err, name).toMatch(/cluster: missing$/);
      expect(seen.length, name).toBe(20_000);
      expect(seen[19_999]).toBe(20_000);
    }
    // JSON strings holding brackets, commas and escaped quotes, split at any point, stay whole.
    const tricky = JSON.stringify([ROW(1), { ...ROW(2), name: 'a\\"]},[{' }]);
    expect((await readHistoryFile(file('tricky.json', tricky))).jobs.map((j) => j.name)).toEqual(['job "1", [x] {y}', 'a\\"]},[{']);
    expect(await readHistoryFile(file('open.json', '[{"op":"upsert"')).then(() => 'read', (e: Error) => e.message)).toMatch(/the array of rows is not closed$/);
  });

  it('parquet: a file of many DuckDB chunks is read whole, in order', async () => {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    const out = join(dir, 'many.parquet');
    await c.run(`COPY (SELECT 'upsert' AS op, 'east' AS cluster, i AS job_id, TIMESTAMP '2026-11-20 08:00:00' AS submit_time, NULL::TIMESTAMP AS start_time, TIMESTAMP '2026-11-20 09:00:00' AS end_time,
      'j' AS name, 'alice' AS "user", 'research' AS account, 'batch' AS "partition", 'normal' AS qos, 'COMPLETED' AS state, 0 AS exit_code, 0 AS exit_signal, 'cpu=1' AS alloc_tres,
      1 AS cpus, 0 AS gpus, 1 AS memory_mb, 1 AS node_count, 'n1' AS node_list, ['n1'] AS nodes FROM range(1, 10001) t(i)) TO '${out}' (FORMAT parquet)`);
    db.closeSync();
    const ids: number[] = [];
    for await (const job of historyRuns(out)) ids.push(job.job_id);
    expect(ids).toHaveLength(10_000);
    expect(ids.every((id, i) => id === i + 1)).toBe(true);
  });
});

describe('what sfleet import history will not read twice', () => {
  it('refuses a FIFO (as <(zcat ...) gives) and a missing file before reading anything', () => {
    const fifo = join(dir, 'runs.fifo');
    execFileSync('mkfifo', [fifo]);
    expect(() => assertRereadable(fifo)).toThrow(/runs\.fifo: not a regular file .*save it to a file first$/);
    expect(() => assertRereadable(join(dir, 'nope.csv'))).toThrow(/nope\.csv: cannot read: ENOENT$/);
    expect(() => assertRereadable(file('fine.csv', CSV))).not.toThrow();
  });
});
