// `sfleet export history` against a standalone hub whose history holds known runs: Parquet read
// back by DuckDB, Avro by Debian's python3-avro against the published schema, an incremental
// export run twice sends only the new rows, and bad input (an invalid --since, an unknown format
// or kind, a full disk under -f) is a clear error that leaves no file that looks complete and no
// moved cursor. No Slurm: the runs are written into the hub's data directory before it starts
// (and while it runs: the hub has no agent, so nothing else writes them).
// Then `sfleet export jobs|nodes|audit` with an agent (a scripted source, cluster south) started
// after the history tests: the same readers, an incremental run that sends only what changed
// (a removed job as a delete row), each export audited with its row count.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HistoryJob } from '../shared/history/index.js';
import { assertBuilt, ROOT, sfleet, SfleetProcess } from './harness/sfleet-process.js';
import { execText, freePort, startTestAgent, waitFor } from './harness/index.js';
import { makeJob, makeNode, ScriptedSource } from './harness/scripted-source.js';
import { testLogger } from './harness/run-logs.js';
import type { RunningAgent } from '../agent/main.js';
import { FaultMounts } from './harness/fault-mounts.js';
import { writeHistoryRuns } from './harness/history-runs.js';

const T0 = Date.UTC(2026, 11, 1, 8);
const run = (job_id: number, end = T0 + 3_600_000): HistoryJob => ({
  cluster: 'east', job_id, submit_time: T0, start_time: job_id % 7 === 0 ? null : T0 + 60_000, end_time: end, name: `job-${job_id}`,
  user: job_id % 2 ? 'alice' : 'bob', account: 'research', partition: 'batch', qos: 'normal', state: job_id % 5 ? 'COMPLETED' : 'FAILED',
  exit_code: job_id % 5 ? 0 : 1, exit_signal: 0, alloc_tres: 'billing=4,cpu=4,mem=1G,node=1', cpus: 4, gpus: 0, memory_mb: 1024,
  node_count: 1, node_list: 'n1', nodes: ['n1'],
});

let work: string;
let hub: SfleetProcess;
let clientEnv: NodeJS.ProcessEnv;
let mounts: FaultMounts;
let grpcAddress: string;
let pkiDir: string;

/** Writes runs into the hub's history (the hub has no agent writing). */
const writeRuns = (jobs: HistoryJob[]): Promise<void> => writeHistoryRuns(join(work, 'hub-data'), jobs);

const exportCli = (args: string[]): Promise<string> => sfleet(['export', 'history', ...args], clientEnv);

beforeAll(async () => {
  assertBuilt();
  work = mkdtempSync(join(tmpdir(), 'sfleet-export-'));
  mounts = new FaultMounts(work);
  const pki = join(work, 'pki');
  const env = { ...process.env };
  await sfleet(['ca', 'init', '--dir', pki, '--trust-domain', 'export.test'], env);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'hub', '--name', 'hub1'], env);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'client', '--name', 'operator'], env);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'agent', '--name', 'south-agent', '--cluster', 'south'], env);
  pkiDir = pki;
  grpcAddress = `127.0.0.1:${await freePort()}`;
  await writeRuns(Array.from({ length: 3000 }, (_, i) => run(i + 1, T0 + 3_600_000 + i * 1000)));
  const httpPort = await freePort();
  writeFileSync(
    join(work, 'hub.yaml'),
    [
      `listen: { grpc: "${grpcAddress}", http: "127.0.0.1:${httpPort}" }`,
      `tls: { ca: ${pki}/ca.pem, cert: ${pki}/hub1.pem, key: ${pki}/hub1-key.pem }`,
      `data_dir: ${work}/hub-data`,
      'history: { threads: 1, memory_limit: 256MB }',
      '',
    ].join('\n'),
  );
  hub = new SfleetProcess(['hub', '--config', join(work, 'hub.yaml')], join(work, 'hub.log')).start();
  clientEnv = { ...process.env, SFLEET_HUB: `https://127.0.0.1:${httpPort}`, SFLEET_CA: `${pki}/ca.pem`, SFLEET_CERT: `${pki}/operator.pem`, SFLEET_KEY: `${pki}/operator-key.pem`, SFLEET_CONFIG: join(work, 'contexts.yaml') };
  await waitFor('hub answers', async () => sfleet(['clusters', '-o', 'json'], clientEnv).then(() => true, () => false), 120_000, 500);
}, 180_000);

afterAll(async () => {
  await hub?.kill('SIGTERM');
  await mounts?.cleanup();
});

describe('sfleet export history', () => {
  it('writes Parquet that DuckDB reads with the right types and row count', async () => {
    const out = join(work, 'all.parquet');
    await exportCli(['--format', 'parquet', '-f', out]);
    const reader = await (await DuckDBInstance.create(':memory:')).connect();
    const rows = await reader.runAndReadAll(`SELECT count(*) AS n, count(*) FILTER (WHERE state = 'FAILED') AS failed, count(*) FILTER (WHERE start_time IS NULL) AS unstarted,
      min(typeof(job_id)) AS id_type, min(typeof(end_time)) AS end_type, min(typeof(nodes)) AS nodes_type FROM read_parquet('${out}')`);
    expect(rows.getRowObjectsJS()[0]).toEqual({ n: 3000n, failed: 600n, unstarted: 428n, id_type: 'BIGINT', end_type: 'TIMESTAMP WITH TIME ZONE', nodes_type: 'VARCHAR[]' });
    reader.closeSync();
  });

  it('writes Avro that Debian\'s python3-avro reads against docs/schemas/history-export.avsc', async () => {
    const out = join(work, 'alice.avro');
    await exportCli(['--format', 'avro', '--user', 'alice', '-f', out]);
    const text = await execText('bash', [join(ROOT, 'scripts/export/python-avro.sh'), out, join(ROOT, 'docs/schemas/history-export.avsc')], { env: process.env, timeoutMs: 600_000 });
    const records = text.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records).toHaveLength(1500);
    expect(records.every((r) => r.user === 'alice' && r.op === 'upsert')).toBe(true);
    const seven = records.find((r) => r.job_id === 7);
    expect(seven).toMatchObject({ cluster: 'east', start_time: null, end_time: new Date(T0 + 3_600_000 + 6000).toISOString().replace('Z', '+00:00').replace('.000', ''), nodes: ['n1'], memory_mb: 1024 });
  });

  it('an incremental export run twice exports only the new rows, and says so', async () => {
    const cursor = join(work, 'history.cursor');
    const first = await exportCli(['--format', 'ndjson', '--cluster', 'east', '--cursor', cursor]);
    expect(first.trimEnd().split('\n')).toHaveLength(3000);
    expect(existsSync(cursor)).toBe(true);
    await writeRuns([run(5000, T0 + 2 * 86_400_000), run(5001, T0 + 2 * 86_400_000), run(1)]);
    const second = await exportCli(['--format', 'ndjson', '--cluster', 'east', '--cursor', cursor]);
    expect(second.trimEnd().split('\n').map((l) => (JSON.parse(l) as { job_id: number }).job_id).sort()).toEqual([5000, 5001]);
    expect(await exportCli(['--format', 'ndjson', '--cluster', 'east', '--cursor', cursor])).toBe('');
    await expect(exportCli(['--format', 'ndjson', '--cluster', 'west', '--cursor', cursor])).rejects.toThrow(/cursor: made with other filters/);
  });

  it('answers bad input clearly: an invalid --since, an unknown format, an unknown kind', async () => {
    await expect(exportCli(['--format', 'csv', '--since', 'yesterday'])).rejects.toThrow(/since: "yesterday" is neither an ISO-8601 time nor a duration/);
    await expect(exportCli(['--format', 'xlsx'])).rejects.toThrow(/unknown format "xlsx": expected csv, json, ndjson, parquet, avro/);
    await expect(sfleet(['export', 'widgets', '--format', 'csv'], clientEnv)).rejects.toThrow(/unknown export "widgets": expected jobs, nodes, events, audit, history/);
  });

  it('a full disk under -f: a clear error, no file that looks complete, the cursor unchanged', async () => {
    const cursor = join(work, 'disk.cursor');
    await exportCli(['--format', 'csv', '--cursor', cursor, '-f', join(work, 'first.csv')]);
    const before = readFileSync(cursor, 'utf8');
    await writeRuns([run(6000, T0 + 3 * 86_400_000)]);
    const small = await mounts.tmpfs('small', 64);
    const out = join(small, 'history.csv');
    await expect(exportCli(['--format', 'csv', '-f', out])).rejects.toThrow(/no space left on the device of .*history\.csv; nothing was kept/);
    expect(readdirSync(small)).toEqual([]);
    // An incremental run onto a full disk leaves its cursor as it was: the next run sends the row.
    mounts.fill(small);
    await expect(exportCli(['--format', 'csv', '--cursor', cursor, '-f', join(small, 'new.csv')])).rejects.toThrow(/no space left on the device/);
    expect(readdirSync(small)).toEqual(['filler']);
    expect(readFileSync(cursor, 'utf8')).toBe(before);
    await exportCli(['--format', 'csv', '--cursor', cursor, '-f', join(work, 'next.csv')]);
    expect(readFileSync(join(work, 'next.csv'), 'utf8').trimEnd().split('\r\n').slice(1).map((l) => l.split(',')[2])).toEqual(['6000']);
  });
});

describe('sfleet export jobs, nodes, events and audit', () => {
  const source = new ScriptedSource('south');
  let agent: RunningAgent | undefined;
  const exportKind = (kind: string, args: string[]): Promise<string> => sfleet(['export', kind, ...args], clientEnv);
  const ndjson = (text: string): Record<string, unknown>[] => text.trimEnd().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

  beforeAll(async () => {
    source.model.job = Array.from({ length: 50 }, (_, i) =>
      makeJob('south', i + 1, { state: i % 2 ? 'RUNNING' : 'PENDING', user: i % 2 ? 'alice' : 'bob', submit_time: new Date(T0 + i * 60_000).toISOString(), nodes: i % 2 ? ['s1'] : [] }),
    );
    source.model.node = [makeNode('south', 's1', { partitions: ['debug', 'gpu'] }), makeNode('south', 's2')];
    const tls = { ca: join(pkiDir, 'ca.pem'), cert: join(pkiDir, 'south-agent.pem'), key: join(pkiDir, 'south-agent-key.pem') };
    agent = await startTestAgent({ cluster: 'south', endpoints: [grpcAddress], tls, spoolDir: mkdtempSync(join(work, 'spool-')) }, { logger: testLogger('export'), source });
    await waitFor('the jobs at the hub', async () => ndjson(await exportKind('jobs', ['--format', 'ndjson', '--cluster', 'south'])).length === 50, 60_000, 500);
  }, 120_000);

  afterAll(async () => {
    await agent?.close();
  });

  it('writes jobs as Parquet that DuckDB reads with the right types and count, and as Avro that python3-avro reads against docs/schemas/jobs-export.avsc', async () => {
    const out = join(work, 'jobs.parquet');
    await exportKind('jobs', ['--format', 'parquet', '--cluster', 'south', '-f', out]);
    const reader = await (await DuckDBInstance.create(':memory:')).connect();
    const rows = await reader.runAndReadAll(`SELECT count(*) AS n, count(*) FILTER (WHERE state = 'RUNNING') AS running, min(typeof(id)) AS id_type,
      min(typeof(submit_time)) AS submit_type, min(typeof(nodes)) AS nodes_type, epoch_ms(min(submit_time)) AS first FROM read_parquet('${out}')`);
    expect(rows.getRowObjectsJS()[0]).toEqual({ n: 50n, running: 25n, id_type: 'BIGINT', submit_type: 'TIMESTAMP WITH TIME ZONE', nodes_type: 'VARCHAR[]', first: BigInt(T0) });
    reader.closeSync();

    const avroOut = join(work, 'jobs-alice.avro');
    await exportKind('jobs', ['--format', 'avro', '--user', 'alice', '-f', avroOut]);
    const text = await execText('bash', [join(ROOT, 'scripts/export/python-avro.sh'), avroOut, join(ROOT, 'docs/schemas/jobs-export.avsc')], { env: process.env, timeoutMs: 600_000 });
    const records = text.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records).toHaveLength(25);
    expect(records.every((r) => r.user === 'alice' && r.op === 'upsert' && r.cluster === 'south')).toBe(true);
    expect(records.find((r) => r.id === 2)).toMatchObject({ state: 'RUNNING', nodes: ['s1'], submit_time: new Date(T0 + 60_000).toISOString().replace('Z', '+00:00').replace('.000', '') });

    const nodes = (await exportKind('nodes', ['--format', 'csv', '--partition', 'gpu'])).trimEnd().split('\r\n');
    expect(nodes).toHaveLength(2);
    expect(nodes[1]).toMatch(/^upsert,south,s1,IDLE,/);
    expect(Array.isArray(JSON.parse(await exportKind('events', ['--format', 'json'])))).toBe(true);
  });

  it('an incremental export run twice sends only what changed: new and changed jobs, and a removed one as a delete row', async () => {
    const cursor = join(work, 'jobs.cursor');
    expect(ndjson(await exportKind('jobs', ['--format', 'ndjson', '--cluster', 'south', '--cursor', cursor]))).toHaveLength(50);
    expect(ndjson(await exportKind('jobs', ['--format', 'ndjson', '--cluster', 'south', '--cursor', cursor]))).toEqual([]);
    source.model.job = source.model.job.filter((j) => j.id !== 3).map((j) => (j.id === 4 ? { ...j, state: 'COMPLETED' } : j));
    source.model.job.push(makeJob('south', 60, { submit_time: new Date(T0 + 86_400_000).toISOString() }));
    await waitFor('the change at the hub', async () => {
      const ids = (JSON.parse(await sfleet(['jobs', '--cluster', 'south', '-o', 'json'], clientEnv)) as { id: number }[]).map((j) => j.id);
      return ids.includes(60) && !ids.includes(3);
    }, 60_000, 500);
    const second = ndjson(await exportKind('jobs', ['--format', 'ndjson', '--cluster', 'south', '--cursor', cursor]));
    expect(second.map((r) => `${String(r.op)} ${String(r.id)} ${String(r.state)}`).sort()).toEqual(['delete 3 null', 'upsert 4 COMPLETED', 'upsert 60 PENDING']);
    expect(ndjson(await exportKind('jobs', ['--format', 'ndjson', '--cluster', 'south', '--cursor', cursor]))).toEqual([]);
    // The cursor is of jobs under --cluster south: another filter or kind refuses it.
    await expect(exportKind('jobs', ['--format', 'ndjson', '--cursor', cursor])).rejects.toThrow(/cursor: made with other filters/);
    await expect(exportKind('nodes', ['--format', 'ndjson', '--cluster', 'south', '--cursor', cursor])).rejects.toThrow(/cursor: made for an export of jobs, not of nodes/);
  });

  it('audits every export with its row count, and exports the audit chain itself (python3-avro reads it against docs/schemas/audit-export.avsc)', async () => {
    const audit = ndjson(await exportKind('audit', ['--format', 'ndjson', '--action', 'jobs:export']));
    expect(audit.map((r) => r.resource)).toContain('jobs export parquet (50 rows)');
    expect(audit.map((r) => r.resource)).toContain('jobs export ndjson (incremental) (3 rows)');
    expect(audit.every((r) => r.user === 'operator')).toBe(true);
    // A refused export is audited too, with why (the cursor of another filter, above).
    expect(audit.filter((r) => r.outcome === 'failed').map((r) => r.reason)).toContain('cursor: made with other filters (--cluster, --user, --since...); an incremental export must keep the same filters');
    const out = join(work, 'audit.avro');
    await exportKind('audit', ['--format', 'avro', '-f', out]);
    const text = await execText('bash', [join(ROOT, 'scripts/export/python-avro.sh'), out, join(ROOT, 'docs/schemas/audit-export.avsc')], { env: process.env, timeoutMs: 600_000 });
    const records = text.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.length).toBeGreaterThan(5);
    // The chain as the hub wrote it: each record names the hash of the one before.
    for (let i = 1; i < records.length; i++) if (records[i].seq === (records[i - 1].seq as number) + 1) expect(records[i].prev_hash).toBe(records[i - 1].hash);
  });

  it('answers bad input clearly: an invalid --since, a filter the kind does not have, an unknown format', async () => {
    await expect(exportKind('jobs', ['--format', 'csv', '--since', 'yesterday'])).rejects.toThrow(/since: "yesterday" is neither an ISO-8601 time nor a duration/);
    await expect(exportKind('audit', ['--format', 'csv', '--until', 'soon'])).rejects.toThrow(/until: "soon" is neither an ISO-8601 time nor a duration/);
    await expect(exportKind('nodes', ['--format', 'csv', '--since', '1d'])).rejects.toThrow(/--since does not apply to export nodes: its filters are --cluster, --partition, --state/);
    await expect(exportKind('events', ['--format', 'xlsx'])).rejects.toThrow(/unknown format "xlsx": expected csv, json, ndjson, parquet, avro/);
  });
});
