// Submission through an agent on the CLI source against the real Slurm 22.05: the agent runs
// `sbatch --parsable` as the caller's Slurm user (runuser), the job gets --export=NONE semantics
// plus the --export values (a comma inside a value stays whole), and Slurm's own words come back
// for a bad partition.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRealSlurmFleet, type RealSlurmFleet } from './harness/real-slurm-fleet.js';
import { waitFor } from './harness/wait.js';
import { ensureSlurm, slurmCli, type SlurmEnv } from './harness/slurm.js';
import { assertBuilt } from './harness/sfleet-process.js';

// alice has a uid below 1000 on this machine: the test lowers submit.min_uid to 900 (root and system accounts stay refused).
const MIN_UID = 900;
const TAG = `sfcli${process.pid}`;
const OUT = `/tmp/${TAG}.out`;
let slurm: SlurmEnv;
let fleet: RealSlurmFleet;
const call = (method: string, path: string, body?: unknown) => fleet.call(method, path, fleet.tokens.alice, body);

beforeAll(async () => {
  assertBuilt();
  slurm = await ensureSlurm();
  fleet = await startRealSlurmFleet({
    name: 'submit-cli',
    slurm,
    hub: { submit: { min_uid: MIN_UID, user_map: { alice: 'alice' } } },
    agent: { slurm: { source: 'cli' }, submit: { min_uid: MIN_UID } },
    agentEnv: { ...process.env, ...slurm.cliEnv, SFLEET_TEST_LEAK: 'the agent environment' },
    tokens: ['alice'],
  });
}, 150_000);

afterAll(async () => {
  const ids = (await slurmCli(slurm, 'squeue', ['-h', '-u', 'alice', '-o', '%i %j']).catch(() => '')).split('\n').filter((l) => l.includes(TAG)).map((l) => l.split(' ')[0]);
  if (ids.length) await slurmCli(slurm, 'scancel', ids);
  rmSync(OUT, { force: true });
  await fleet?.stop();
});

describe('submit through an agent on the CLI source (sbatch, real Slurm 22.05)', () => {
  it("runs the job as alice with only the minimal PATH, HOME and the --export values; Slurm's words for a bad partition", async () => {
    const res = await call('POST', `/api/v1/jobs/${slurm.cluster}`, {
      wrap: `echo "$FOO|$(id -un)|$PATH|$SFLEET_TEST_LEAK" > ${OUT}`,
      account: 'research',
      partition: 'debug',
      job_name: `${TAG}-ok`,
      time_minutes: 1,
      output: '/dev/null',
      chdir: '/tmp',
      export: { FOO: 'a,b c' },
    });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    expect(res.json).toMatchObject({ user: 'alice', job_id: expect.stringMatching(/^\d+$/) });
    expect(String(res.json.message)).toMatch(/as alice/);
    await waitFor('the job wrote its output', async () => existsSync(OUT) && readFileSync(OUT, 'utf8').endsWith('\n'), 30_000, 250);
    expect(readFileSync(OUT, 'utf8')).toBe('a,b c|alice|/usr/local/bin:/usr/bin:/bin|\n');

    const bad = await call('POST', `/api/v1/jobs/${slurm.cluster}`, { wrap: 'true', account: 'research', partition: 'nope', job_name: `${TAG}-bad`, chdir: '/tmp' });
    expect(bad.status).toBe(422);
    expect(String(bad.json.detail)).toMatch(/Invalid partition name specified/);
  });
});
