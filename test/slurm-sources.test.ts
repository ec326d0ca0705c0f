// The slurmrestd and CLI sources against the project's real Slurm 22.05 (scripts/slurm/start.sh):
// jobs of two users read through both sources agree with `squeue --json`, and commands sent
// through source.execute take effect in Slurm.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../shared/model/index.js';
import { createSlurmSource, type PollResult, type SlurmSource } from '../agent/source/index.js';
import { ensureSlurm, sbatchAs, slurmCli, squeueJson, type SlurmEnv } from './harness/slurm.js';

let env: SlurmEnv;
let rest: SlurmSource;
let cli: SlurmSource;
const jobs: Record<string, number> = {};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

async function squeueJob(id: number): Promise<Record<string, unknown> | undefined> {
  return (await squeueJson(env)).jobs.find((j) => j.job_id === id);
}

async function nodeState(name: string): Promise<string> {
  return (await slurmCli(env, 'sinfo', ['-h', '-N', '-n', name, '-o', '%T'])).trim();
}

function pick(j: Job): Record<string, unknown> {
  return { id: j.id, user: j.user, account: j.account, partition: j.partition, state: j.state };
}

beforeAll(async () => {
  env = await ensureSlurm();
  const config = (slurm: Record<string, unknown>) => ({
    cluster: 'it-local',
    slurm: { source: 'rest' as const, endpoints: [env.restUrl], auth: { user: env.restUser, token: env.jwt }, ...slurm },
  });
  rest = createSlurmSource(config({}));
  cli = createSlurmSource(config({ source: 'cli' }), { env: env.cliEnv });

  jobs.aliceRunning = await sbatchAs(env, 'alice', ['-p', 'debug', '-J', 'it-alice-run', '--wrap', 'sleep 600']);
  jobs.aliceHeld = await sbatchAs(env, 'alice', ['-p', 'batch', '--hold', '-J', 'it-alice-held', '--wrap', 'sleep 600']);
  jobs.bobRunning = await sbatchAs(env, 'bob', ['-p', 'batch', '--qos=high', '-J', 'it-bob-run', '--wrap', 'sleep 600']);
  jobs.bobPending = await sbatchAs(env, 'bob', ['-p', 'batch', '--begin=now+1hour', '-J', 'it-bob-later', '--wrap', 'sleep 600']);
  jobs.bobRequeue = await sbatchAs(env, 'bob', ['-p', 'debug', '-J', 'it-bob-requeue', '--wrap', 'sleep 600']);
  for (const id of [jobs.aliceRunning, jobs.bobRunning, jobs.bobRequeue]) {
    await until(`job ${id} running`, async () => ((await squeueJob(id))?.job_state === 'RUNNING' ? true : undefined));
  }
});

afterAll(async () => {
  if (!env) return;
  const ids = Object.values(jobs).map(String);
  if (ids.length) await slurmCli(env, 'scancel', ids).catch(() => undefined);
  await slurmCli(env, 'scontrol', ['update', 'nodename=node3', 'state=resume']).catch(() => undefined);
  await rest?.close();
  await cli?.close();
});

describe('slurmrestd source on Slurm 22.05', () => {
  let first: PollResult;

  it('negotiates v0.0.38 and reads the same jobs as squeue --json', async () => {
    first = await rest.poll();
    const squeue = await squeueJson(env);
    expect(first.apiVersion).toBe('v0.0.38');
    expect(first.endpoint).toBe(env.restUrl);
    for (const id of Object.values(jobs)) {
      const s = squeue.jobs.find((j) => j.job_id === id)!;
      const m = first.model.job.find((j) => j.id === id);
      expect(m, `job ${id}`).toBeDefined();
      expect(pick(m!)).toEqual({ id, user: s.user_name, account: s.account, partition: s.partition, state: s.job_state });
      expect(m!.cluster).toBe('it-local');
    }
    const byId = new Map(first.model.job.map((j) => [j.id, j]));
    expect(byId.get(jobs.aliceRunning)).toMatchObject({ user: 'alice', account: 'research', partition: 'debug', state: 'RUNNING' });
    expect(byId.get(jobs.bobRunning)).toMatchObject({ user: 'bob', account: 'ops', partition: 'batch', qos: 'high' });
    expect(byId.get(jobs.aliceHeld)!.state).toBe('PENDING');
  });

  it('reads nodes, partitions, slurmdbd lists and controller health', async () => {
    const { model, failed } = first;
    expect(failed.size).toBe(0);
    expect(model.node.map((n) => n.name).sort()).toEqual(['node1', 'node2', 'node3', 'node4', 'node5']);
    expect(model.node.find((n) => n.name === 'node5')!.state).toBe('DOWN');
    expect(model.partition.map((p) => [p.name, p.node_list, p.is_default]).sort()).toEqual([
      ['batch', 'node[1-5]', false],
      ['debug', 'node[1-2]', true],
    ]);
    expect(model.qos.map((q) => q.name).sort()).toEqual(['high', 'low', 'normal']);
    expect(model.account.map((a) => a.name)).toEqual(expect.arrayContaining(['research', 'ops']));
    expect(model.association).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ account: 'research', user: 'alice' }),
        expect.objectContaining({ account: 'ops', user: 'bob' }),
      ]),
    );
    expect(model.controller[0]).toMatchObject({ responding: true, api_version: 'v0.0.38', endpoint: env.restUrl });
    expect(model.controller[0].slurm_version).toMatch(/^22\.05/);
  });

  it('agrees with the CLI source (squeue/sinfo --json, scontrol, sacctmgr)', async () => {
    const [viaRest, viaCli] = [await rest.poll(), await cli.poll()];
    expect(viaCli.failed.size).toBe(0);
    const ours = new Set(Object.values(jobs));
    const view = (r: PollResult) => r.model.job.filter((j) => ours.has(j.id)).map(pick).sort((a, b) => Number(a.id) - Number(b.id));
    expect(view(viaCli)).toEqual(view(viaRest));
    const nodes = (r: PollResult) => r.model.node.map((n) => [n.name, n.state]).sort();
    expect(nodes(viaCli)).toEqual(nodes(viaRest));
    const parts = (r: PollResult) => r.model.partition.map((p) => [p.name, p.node_list, p.nodes, p.total_cpus, p.is_default, p.max_time_s]).sort();
    expect(parts(viaCli)).toEqual(parts(viaRest));
    expect(viaCli.model.qos.map((q) => [q.name, q.priority, q.max_wall_s]).sort()).toEqual(viaRest.model.qos.map((q) => [q.name, q.priority, q.max_wall_s]).sort());
    expect(viaCli.model.controller[0]).toMatchObject({ responding: true, api_version: 'v0.0.38', slurm_version: viaRest.model.controller[0].slurm_version });
  });

  it('gets 304 for unchanged jobs and partitions and reuses the previous lists', async () => {
    const result = await until('a poll with jobs unchanged', async () => {
      const r = await rest.poll();
      return r.unchanged.has('job') ? r : undefined;
    });
    expect(result.unchanged.has('partition')).toBe(true);
    expect(result.model.job.map((j) => j.id)).toEqual(expect.arrayContaining(Object.values(jobs)));
  });

  it('shares one in-flight poll between concurrent callers', async () => {
    const [a, b] = [rest.poll(), rest.poll()];
    expect(a).toBe(b);
    await a;
  });

  it('works over the rest_auth/local unix socket and fails over from a dead endpoint', async () => {
    const socket = createSlurmSource({ cluster: 'it-local', slurm: { source: 'rest', endpoints: [`unix:${env.socket}`], auth: { user: '', token: '' } } });
    const viaSocket = await socket.poll();
    expect(viaSocket.model.job.map((j) => j.id)).toEqual(expect.arrayContaining(Object.values(jobs)));
    await socket.close();

    const failover = createSlurmSource({
      cluster: 'it-local',
      slurm: { source: 'rest', endpoints: ['http://127.0.0.1:1', env.restUrl], auth: { user: env.restUser, token: env.jwt } },
    });
    const r = await failover.poll();
    expect(r.endpoint).toBe(env.restUrl);
    await failover.close();
  });

  it('holds and releases a job through REST', async () => {
    const held = await rest.execute({ kind: 'hold', target: String(jobs.bobPending) });
    expect(held).toMatchObject({ ok: true, via: 'rest' });
    expect((await squeueJob(jobs.bobPending))?.priority).toBe(0);
    const released = await rest.execute({ kind: 'release', target: String(jobs.bobPending) });
    expect(released).toMatchObject({ ok: true, via: 'rest' });
    expect((await squeueJob(jobs.bobPending))?.priority).not.toBe(0);
  });

  it('requeues through scontrol (no REST endpoint in any version)', async () => {
    const out = await rest.execute({ kind: 'requeue', target: String(jobs.bobRequeue) });
    expect(out).toMatchObject({ ok: true, via: 'scontrol' });
    await until('job requeued', async () => (Number((await squeueJob(jobs.bobRequeue))?.restart_cnt) >= 1 ? true : undefined));
  });

  it('drains and resumes a node through scontrol on v0.0.38', async () => {
    const drained = await rest.execute({ kind: 'drain', target: 'node3', reason: 'it: drain\ntest' });
    expect(drained).toMatchObject({ ok: true, via: 'scontrol' });
    expect(await nodeState('node3')).toMatch(/drain/);
    const poll = await rest.poll();
    const node3 = poll.model.node.find((n) => n.name === 'node3')!;
    expect(JSON.stringify([node3.state, node3.flags])).toContain('DRAIN');
    expect(node3.reason).toBe('it: drain test');
    expect(await rest.execute({ kind: 'resume', target: 'node3' })).toMatchObject({ ok: true, via: 'scontrol' });
    await until('node3 idle', async () => ((await nodeState('node3')) === 'idle' ? true : undefined));
  });

  it('cancels a job through REST; refusals are ok:false with Slurm\'s message', async () => {
    expect(await rest.execute({ kind: 'cancel', target: String(jobs.aliceRunning) })).toMatchObject({ ok: true, via: 'rest' });
    await until('job cancelled', async () => (/CANCELLED|COMPLETING/.test(String((await squeueJob(jobs.aliceRunning))?.job_state)) ? true : undefined));
    const unknown = await rest.execute({ kind: 'cancel', target: '999999' });
    expect(unknown.ok).toBe(false);
    expect(unknown.message).toMatch(/Invalid job id/);
    expect(unknown.message).not.toContain(env.jwt);
    const again = await rest.execute({ kind: 'cancel', target: String(jobs.aliceRunning) });
    await until('job gone from the running set', async () => ((await squeueJob(jobs.aliceRunning))?.job_state === 'CANCELLED' ? true : undefined));
    expect(again.ok).toBe(false);
    const finished = await rest.execute({ kind: 'cancel', target: String(jobs.aliceRunning) });
    expect(finished).toEqual({ ok: false, message: `cancel job ${jobs.aliceRunning}: job already finished (CANCELLED)`, via: 'rest' });
    expect(await rest.execute({ kind: 'hold', target: String(jobs.aliceRunning) })).toMatchObject({ ok: false, message: expect.stringMatching(/already finished/) });
    await expect(rest.execute({ kind: 'cancel', target: '1; rm -rf /' })).rejects.toThrow(/digits/);
  });
});

describe('CLI source commands on Slurm 22.05', () => {
  it('holds, releases and cancels through scontrol and scancel', async () => {
    const id = String(jobs.aliceHeld);
    expect(await cli.execute({ kind: 'release', target: id })).toMatchObject({ ok: true, via: 'scontrol' });
    expect(await cli.execute({ kind: 'hold', target: id })).toMatchObject({ ok: true, via: 'scontrol' });
    expect((await squeueJob(jobs.aliceHeld))?.priority).toBe(0);
    expect(await cli.execute({ kind: 'cancel', target: id })).toMatchObject({ ok: true, via: 'scancel' });
    await until('job cancelled', async () => ((await squeueJob(jobs.aliceHeld))?.job_state === 'CANCELLED' ? true : undefined));
    const again = await cli.execute({ kind: 'cancel', target: id });
    expect(again).toMatchObject({ ok: false, via: 'scancel', message: expect.stringMatching(/already completing or completed/) });
    const unknown = await cli.execute({ kind: 'cancel', target: '999999' });
    expect(unknown).toMatchObject({ ok: false, via: 'scancel', message: expect.stringMatching(/Invalid job id/) });
  });
});
