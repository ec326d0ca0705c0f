// `sfleet export jobs --cursor FILE` in a hub group, with a failover between two runs: the first
// run on hub A makes every hub of the region keep a change journal (an etcd key the hubs watch),
// so hub B, which never served an export, answers A's cursor with only what changed after it
// (a removed job as a delete row) once A is gone. Two hubs on a private etcd and Redis
// (replication: B applies the same deltas under the same positions); an agent with a scripted
// source. No Slurm.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Etcd3 } from 'etcd3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../agent/main.js';
import { HaServices } from './harness/ha-services.js';
import { GroupHub } from './harness/hub-group.js';
import { makePki, type TestPki } from './harness/pki.js';
import { testLogger } from './harness/run-logs.js';
import { makeJob, ScriptedSource } from './harness/scripted-source.js';
import { assertBuilt, sfleetRun } from './harness/sfleet-process.js';
import { startTestAgent } from './harness/test-agent.js';
import { waitFor } from './harness/wait.js';

const T0 = Date.UTC(2026, 11, 1, 8);
let services: HaServices;
let pki: TestPki;
let work: string;
let a: GroupHub;
let b: GroupHub;
let agent: RunningAgent | undefined;
const source = new ScriptedSource('north');

beforeAll(async () => {
  assertBuilt();
  [pki, services] = await Promise.all([makePki(), HaServices.create('export-failover')]);
  work = mkdtempSync(join(tmpdir(), 'export-failover-'));
  const group = { region: 'exf', pki, etcdEndpoints: services.etcdEndpoints, redisUrl: services.redisUrl, readyTimeoutMs: 90_000, config: { etcd: { lease_ttl: '3s' } } };
  a = new GroupHub('exf-a', work, group);
  b = new GroupHub('exf-b', work, group);
  await Promise.all([a.start(), b.start()]);
  source.model.job = Array.from({ length: 5 }, (_, i) => makeJob('north', i + 1, { state: 'RUNNING', submit_time: new Date(T0 + i * 60_000).toISOString() }));
  agent = await startTestAgent(
    { cluster: 'north', name: 'head1', endpoints: [a.grpcAddress, b.grpcAddress], backoff: ['100ms', '500ms'], tls: await pki.agent('north', 'agent-north'), spoolDir: mkdtempSync(join(work, 'spool-')) },
    { logger: testLogger('export-failover'), source },
  );
  for (const h of [a, b]) await waitFor(`${h.id} has the 5 jobs`, async () => (await h.client().all('/api/v1/jobs', {})).length === 5, 60_000, 200);
}, 240_000);

afterAll(async () => {
  await agent?.close();
  await Promise.all([a?.stop(), b?.stop()]);
  await services?.stop();
});

const jobIds = async (h: GroupHub): Promise<unknown[]> => (await h.client().all('/api/v1/jobs', {})).map((j) => (j as { id: number }).id).sort();
const ops = (file: string): string[] =>
  readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { op: string; id: number; state: string | null }).map((r) => `${r.op} ${r.id} ${String(r.state)}`).sort();

describe('an incremental jobs export with a hub failover between two runs', () => {
  it('the hub that takes over answers the cursor with only the changes, deletes included', async () => {
    const cursor = join(work, 'jobs.cursor');
    const run = (h: GroupHub, out: string) =>
      sfleetRun(['export', 'jobs', '--format', 'ndjson', '--cursor', cursor, '-f', join(work, out), '--hub', h.httpUrl, '--ca', pki.ca, '--cert', pki.client.cert, '--key', pki.client.key], { PATH: process.env.PATH, HOME: work });
    const first = await run(a, 'first.ndjson');
    expect(first.code, first.stderr).toBe(0);
    expect(ops(join(work, 'first.ndjson'))).toHaveLength(5);
    // B starts its journal on seeing the region's key (it never served an export itself).
    await waitFor('B keeps a change journal', () => readFileSync(b.logFile, 'utf8').includes('this hub keeps a change journal'), 30_000, 200);

    source.model.job = source.model.job.filter((j) => j.id !== 2).map((j) => (j.id === 3 ? { ...j, state: 'COMPLETED' } : j));
    source.model.job.push(makeJob('north', 6, { state: 'PENDING', submit_time: new Date(T0 + 3_600_000).toISOString() }));
    for (const h of [a, b]) await waitFor(`${h.id} has the changes`, async () => JSON.stringify(await jobIds(h)) === JSON.stringify([1, 3, 4, 5, 6]), 60_000, 200);

    // A dies; the next run goes to B with A's cursor.
    await a.kill('SIGKILL');
    const second = await run(b, 'second.ndjson');
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).not.toMatch(/cursor too old/);
    expect(ops(join(work, 'second.ndjson'))).toEqual(['delete 2 null', 'upsert 3 COMPLETED', 'upsert 6 PENDING']);
    const third = await run(b, 'third.ndjson');
    expect(third.code, third.stderr).toBe(0);
    expect(readFileSync(join(work, 'third.ndjson'), 'utf8')).toBe('');
  }, 240_000);

  it('a hub that starts with a saved journal tells the group, so a peer without one answers its cursors after a failover', async () => {
    // As for a hub that exported incrementally while standalone, then joined this group: B stops
    // with its journal saved, the region's key is gone, and A comes back without a journal.
    await b.stop();
    rmSync(join(a.dataDir, 'export', 'change-journal.json'), { force: true });
    const etcd = new Etcd3({ hosts: services.etcdEndpoints });
    const key = '/sfleet/export/exf/journal';
    const journalLines = (h: GroupHub): number => h.log().split('this hub keeps a change journal').length - 1;
    try {
      await etcd.delete().key(key);
      await a.start();
      const before = journalLines(a);
      await b.start();
      // B puts the key as it starts (A, starting its journal on seeing it, puts it again).
      await waitFor('A keeps a change journal', () => journalLines(a) > before, 30_000, 200);
      expect(await etcd.get(key).string()).not.toBeNull();
    } finally {
      etcd.close();
    }
    for (const h of [a, b]) await waitFor(`${h.id} has the agent's jobs`, async () => JSON.stringify(await jobIds(h)) === JSON.stringify([1, 3, 4, 5, 6]), 90_000, 200);

    // A cursor made on B is answered by A with only what changed after it.
    const cursor = join(work, 'rejoin.cursor');
    const run = (h: GroupHub, out: string) =>
      sfleetRun(['export', 'jobs', '--format', 'ndjson', '--cursor', cursor, '-f', join(work, out), '--hub', h.httpUrl, '--ca', pki.ca, '--cert', pki.client.cert, '--key', pki.client.key], { PATH: process.env.PATH, HOME: work });
    const onB = await run(b, 'rejoin-1.ndjson');
    expect(onB.code, onB.stderr).toBe(0);
    source.model.job = source.model.job.filter((j) => j.id !== 4);
    for (const h of [a, b]) await waitFor(`${h.id} lost job 4`, async () => JSON.stringify(await jobIds(h)) === JSON.stringify([1, 3, 5, 6]), 60_000, 200);
    await b.kill('SIGKILL');
    const onA = await run(a, 'rejoin-2.ndjson');
    expect(onA.code, onA.stderr).toBe(0);
    expect(ops(join(work, 'rejoin-2.ndjson'))).toEqual(['delete 4 null']);
  }, 300_000);
});
