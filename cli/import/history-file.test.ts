import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatOf, ImportFileError, readHistoryFile } from './index.js';

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
