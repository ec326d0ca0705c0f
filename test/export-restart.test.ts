// `sfleet export jobs --cursor FILE` across restarts of the hub process. The hub saves its change
// journal (which says what was deleted after a cursor) while it runs and as it stops, and loads it
// as it starts, before the WAL replay: after a graceful restart and after a crash (SIGKILL) the
// next run is still incremental: deletes before, during and after the downtime are delete rows.
// A hub that lost its journal cannot say what changed after a cursor: it refuses it as too old.
// The CLI then exits 3 and writes nothing (a cron job applying changes must not take a full
// export for changes), or, with --full-on-too-old, writes a full export to replace what the user
// holds, still exiting 3.
// No Slurm: an agent with a scripted source (cluster south) reconnects to the restarted hub.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, sfleet, sfleetRun, SfleetProcess } from './harness/sfleet-process.js';
import { freePort, startTestAgent, waitFor } from './harness/index.js';
import { makeJob, ScriptedSource } from './harness/scripted-source.js';
import { testLogger } from './harness/run-logs.js';
import type { RunningAgent } from '../agent/main.js';

const T0 = Date.UTC(2026, 11, 1, 8);
let work: string;
let hub: SfleetProcess | undefined;
let agent: RunningAgent | undefined;
let clientEnv: NodeJS.ProcessEnv;
const source = new ScriptedSource('south');

const startHub = (): SfleetProcess => new SfleetProcess(['hub', '--config', join(work, 'hub.yaml')], join(work, 'hub.log')).start();
const jobIds = async (): Promise<number[]> => (JSON.parse(await sfleet(['jobs', '--cluster', 'south', '-o', 'json'], clientEnv)) as { id: number }[]).map((j) => j.id);
const rows = (file: string): { op: string; id: number; state: string | null }[] =>
  readFileSync(file, 'utf8').trimEnd().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { op: string; id: number; state: string | null });
const ops = (file: string): string[] => rows(file).map((r) => `${r.op} ${r.id}`).sort();

beforeAll(async () => {
  assertBuilt();
  work = mkdtempSync(join(tmpdir(), 'sfleet-export-restart-'));
  const pki = join(work, 'pki');
  await sfleet(['ca', 'init', '--dir', pki, '--trust-domain', 'export-restart.test'], process.env);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'hub', '--name', 'hub1'], process.env);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'client', '--name', 'operator'], process.env);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'agent', '--name', 'south-agent', '--cluster', 'south'], process.env);
  const grpcAddress = `127.0.0.1:${await freePort()}`;
  const httpPort = await freePort();
  writeFileSync(
    join(work, 'hub.yaml'),
    [`listen: { grpc: "${grpcAddress}", http: "127.0.0.1:${httpPort}" }`, `tls: { ca: ${pki}/ca.pem, cert: ${pki}/hub1.pem, key: ${pki}/hub1-key.pem }`, `data_dir: ${work}/hub-data`, ''].join('\n'),
  );
  clientEnv = { ...process.env, SFLEET_HUB: `https://127.0.0.1:${httpPort}`, SFLEET_CA: `${pki}/ca.pem`, SFLEET_CERT: `${pki}/operator.pem`, SFLEET_KEY: `${pki}/operator-key.pem`, SFLEET_CONFIG: join(work, 'contexts.yaml') };
  hub = startHub();
  await waitFor('hub answers', async () => sfleet(['clusters', '-o', 'json'], clientEnv).then(() => true, () => false), 120_000, 500);
  source.model.job = Array.from({ length: 10 }, (_, i) => makeJob('south', i + 1, { state: 'RUNNING', submit_time: new Date(T0 + i * 60_000).toISOString() }));
  const tls = { ca: join(pki, 'ca.pem'), cert: join(pki, 'south-agent.pem'), key: join(pki, 'south-agent-key.pem') };
  agent = await startTestAgent({ cluster: 'south', endpoints: [grpcAddress], tls, spoolDir: mkdtempSync(join(work, 'spool-')) }, { logger: testLogger('export-restart'), source });
  await waitFor('the jobs at the hub', async () => (await jobIds().catch((): number[] => [])).length === 10, 60_000, 500);
}, 240_000);

afterAll(async () => {
  await agent?.close();
  await hub?.kill('SIGTERM');
});

describe('an incremental jobs export across hub restarts', () => {
  it('stays incremental across a graceful restart and a crash; with its journal lost it exits 3 and writes nothing, or a full export with --full-on-too-old; no delete is lost', async () => {
    const cursor = join(work, 'jobs.cursor');
    const run = (out: string, ...extra: string[]) => sfleetRun(['export', 'jobs', '--format', 'ndjson', '--cluster', 'south', '--cursor', cursor, '-f', join(work, out), ...extra], clientEnv);
    const ok = async (out: string): Promise<string> => {
      const r = await run(out);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toMatch(/cursor too old/);
      return r.stderr;
    };
    await ok('first.ndjson');
    expect(ops(join(work, 'first.ndjson'))).toHaveLength(10);

    // Job 3 goes away while the hub runs, then the hub stops gracefully; job 4 goes away while it
    // is down, and job 11 arrives.
    source.model.job = source.model.job.filter((j) => j.id !== 3);
    await waitFor('job 3 gone at the hub', async () => !(await jobIds()).includes(3), 60_000, 500);
    await hub!.kill('SIGTERM');
    source.model.job = source.model.job.filter((j) => j.id !== 4);
    source.model.job.push(makeJob('south', 11, { state: 'PENDING', submit_time: new Date(T0 + 86_400_000).toISOString() }));
    hub = startHub();
    await waitFor('the restarted hub has the agent\'s changes', async () => {
      const ids = await jobIds().catch((): number[] => []);
      return ids.includes(11) && !ids.includes(4);
    }, 120_000, 500);
    // The saved journal went on: only the changes, both deletes among them.
    await ok('second.ndjson');
    expect(ops(join(work, 'second.ndjson'))).toEqual(['delete 3', 'delete 4', 'upsert 11']);

    // Job 5 goes away, then the hub is killed at once (no save since, most likely): the restarted
    // hub hears the WAL past the journal's last save, so the next run is still changes only.
    source.model.job = source.model.job.filter((j) => j.id !== 5);
    await waitFor('job 5 gone at the hub', async () => !(await jobIds()).includes(5), 60_000, 500);
    await hub!.kill('SIGKILL');
    source.model.job = source.model.job.filter((j) => j.id !== 6);
    hub = startHub();
    await waitFor('the hub is back with the agent', async () => {
      const ids = await jobIds().catch((): number[] => []);
      return ids.length === 7 && !ids.includes(6);
    }, 120_000, 500);
    await ok('after-crash.ndjson');
    expect(ops(join(work, 'after-crash.ndjson'))).toEqual(['delete 5', 'delete 6']);

    // The journal is lost (the hub stopped, its file gone: a data directory put back without it):
    // job 6 comes back while the hub is down.
    await hub!.kill('SIGTERM');
    rmSync(join(work, 'hub-data', 'export', 'change-journal.json'));
    source.model.job.push(makeJob('south', 6, { state: 'RUNNING', submit_time: new Date(T0 + 5 * 60_000).toISOString() }));
    hub = startHub();
    await waitFor('the hub is back with the agent', async () => (await jobIds().catch((): number[] => [])).length === 8, 120_000, 500);

    // Refused as too old: exit 3, nothing written, the cursor file as it was.
    const held = readFileSync(cursor, 'utf8');
    const refused = await run('third.ndjson');
    expect(refused.code, refused.stderr).toBe(3);
    expect(refused.stderr).toMatch(/cursor too old: .*nothing was written and .* is unchanged\. Run again with --full-on-too-old/);
    expect(existsSync(join(work, 'third.ndjson'))).toBe(false);
    expect(readFileSync(cursor, 'utf8')).toBe(held);
    // The refusal is audited as such.
    const audit = await sfleet(['export', 'audit', '--format', 'ndjson', '--action', 'jobs:export'], clientEnv);
    expect(audit).toMatch(/cursor too old: full export needed/);

    // Asked for: a full export (every job that is there, none that went away), still exit 3.
    const full = await run('third.ndjson', '--full-on-too-old');
    expect(full.code, full.stderr).toBe(3);
    expect(full.stderr).toMatch(/FULL export, not changes: replace what you hold/);
    expect(ops(join(work, 'third.ndjson'))).toEqual(['upsert 1', 'upsert 10', 'upsert 11', 'upsert 2', 'upsert 6', 'upsert 7', 'upsert 8', 'upsert 9']);
    expect(readFileSync(cursor, 'utf8')).not.toBe(held);

    // From the full export's cursor the hub is exact again: a delete is a delete row.
    source.model.job = source.model.job.filter((j) => j.id !== 7).map((j) => (j.id === 6 ? { ...j, state: 'COMPLETED' } : j));
    await waitFor('job 7 gone at the hub', async () => !(await jobIds()).includes(7), 60_000, 500);
    await ok('fourth.ndjson');
    expect(rows(join(work, 'fourth.ndjson')).map((r) => `${r.op} ${r.id} ${String(r.state)}`).sort()).toEqual(['delete 7 null', 'upsert 6 COMPLETED']);
    await ok('fifth.ndjson');
    expect(readFileSync(join(work, 'fifth.ndjson'), 'utf8')).toBe('');
  });
});
