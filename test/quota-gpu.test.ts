// GPU quotas against the real Slurm 22.05, whose nodes have two count-only GPUs each (gres/gpu
// TRES). Through the hub: alice's submits with --gres are admitted while the tenant's max_gpus
// holds them and refused past it, naming the limit, usage and request (a bare `--gres=gpu` is one
// GPU; --gpus and --gpus-per-node count the same way); a GPU job she sends straight to Slurm past
// the limit is held (policy `hold`) and released when a GPU job ends. With policy `slurm` the limit is GrpTRES=gres/gpu on the association and
// Slurm itself keeps the excess GPU job pending.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRealSlurmFleet, type RealSlurmFleet } from './harness/real-slurm-fleet.js';
import { waitFor } from './harness/wait.js';
import { ensureSlurm, sbatchAs, slurmCli, type SlurmEnv } from './harness/slurm.js';
import { assertBuilt } from './harness/sfleet-process.js';

// alice has a uid below 1000 on this machine: the hub and agent accept uids from 900 (as test/submit.test.ts).
const MIN_UID = 900;
const TAG = `sfgpu${process.pid}`;
let slurm: SlurmEnv;
let fleet: RealSlurmFleet | undefined;

/** This run's jobs in Slurm's queue: id -> "STATE reason GPUs" (squeue's %b, e.g. gres:gpu:2). */
async function queue(): Promise<Map<number, string>> {
  const out = await slurmCli(slurm, 'squeue', ['-h', '-u', 'alice', '-o', '%i %j %T %r %b']);
  const rows = out.split('\n').filter((l) => l.includes(TAG)).map((l) => l.trim().split(/\s+/));
  return new Map(rows.map(([id, , state, reason, gres]) => [Number(id), `${state} ${reason} ${gres}`]));
}

async function cancelOurs(): Promise<void> {
  const ids = [...(await queue().catch(() => new Map<number, string>())).keys()].map(String);
  if (ids.length) await slurmCli(slurm, 'scancel', ids);
  await waitFor('our jobs gone from the queue', async () => (await queue()).size === 0, 30_000, 250);
}

const clearLimits = (): Promise<string> =>
  slurmCli(slurm, 'sacctmgr', ['-i', 'modify', 'account', 'where', 'name=research', `cluster=${slurm.cluster}`, 'set', 'GrpJobs=-1', 'GrpSubmitJobs=-1', 'GrpTRES=cpu=-1,node=-1,mem=-1,gres/gpu=-1']);

/** The tenant's max_gpus as `GET /api/v1/quotas` shows it to alice. */
async function gpuQuota(): Promise<{ value: number; usage: number; over: boolean } | undefined> {
  const items = (await fleet!.call('GET', '/api/v1/quotas', fleet!.tokens.alice)).json.items as { tenant: string; limits: { scope: string; limit: string; value: number; usage: number; over: boolean }[] }[];
  return items.find((t) => t.tenant === 'science')?.limits.find((l) => l.scope === 'tenant' && l.limit === 'max_gpus');
}

/** Alice's submit through the hub; `gres` '' sends none (the job asks with gpus / gpus_per_node in `extra`). */
const submit = (name: string, gres: string, extra: Record<string, unknown> = {}) =>
  fleet!.call('POST', `/api/v1/jobs/${slurm.cluster}`, fleet!.tokens.alice, { wrap: 'sleep 300', account: 'research', partition: 'debug', ...(gres ? { gres } : {}), job_name: `${TAG}-${name}`, time_minutes: 5, output: '/dev/null', chdir: '/tmp', ...extra });

beforeAll(async () => {
  assertBuilt();
  slurm = await ensureSlurm();
  // The GPUs must be Slurm's own: without them every --gres=gpu submit is refused by Slurm and nothing here means anything.
  const node = await slurmCli(slurm, 'scontrol', ['show', 'node', 'node1']);
  if (!/CfgTRES=.*gres\/gpu=2/.test(node)) throw new Error(`the test Slurm has no GPUs (scripts/slurm/start.sh gives each node gres/gpu=2; restart it):\n${node}`);
  await slurmCli(slurm, 'scancel', ['--full', '--quiet', '-u', 'alice']).catch(() => {});
  await waitFor('no jobs of alice in the queue', async () => (await slurmCli(slurm, 'squeue', ['-h', '-u', 'alice', '-o', '%i'])).trim() === '', 30_000, 250);
  await clearLimits();
}, 150_000);

afterAll(async () => {
  await fleet?.stop();
  await cancelOurs();
  await clearLimits();
});

describe('GPU quotas through the hub, and policy hold (real Slurm 22.05, gres/gpu)', () => {
  beforeAll(async () => {
    fleet = await startRealSlurmFleet({
      name: 'qgpu',
      slurm,
      hub: {
        submit: { min_uid: MIN_UID, user_map: { alice: 'alice' } },
        multi_tenancy: {
          enabled: true,
          enforcement_interval: '1s',
          tenants: { science: { clusters: [slurm.cluster], accounts: ['research'], users: ['alice'], resources: { max_gpus: 3 }, enforcement: { policy: 'hold' } } },
        },
      },
      agent: { submit: { min_uid: MIN_UID } },
      tokens: ['alice'],
    });
  }, 150_000);

  afterAll(async () => {
    await fleet?.stop();
    fleet = undefined;
    await cancelOurs();
  });

  it('admits GPU jobs within max_gpus and refuses the excess before Slurm, naming the limit, usage and request', async () => {
    const two = await submit('two', 'gpu:2');
    expect(two.status, JSON.stringify(two.json)).toBe(201);
    const twoId = Number(two.json.job_id);
    await waitFor('the 2-GPU job running', async () => (await queue()).get(twoId) === 'RUNNING None gres:gpu:2', 30_000, 250);
    await waitFor('2 GPUs counted', async () => (await gpuQuota())?.usage === 2, 30_000, 250);

    // 2 + 2 > 3: refused, and Slurm never sees it.
    const over = await submit('over', 'gpu:2');
    expect(over.status, JSON.stringify(over.json)).toBe(409);
    expect(over.json).toMatchObject({ code: 'SF_QUOTA_EXCEEDED', quota: { scope: 'tenant', subject: 'science', limit: 'max_gpus', value: 3, usage: 2, reserved: 0, request: 2 } });
    expect(String(over.json.detail)).toMatch(/max_gpus is 3/);

    // A bare --gres=gpu is one GPU: it fits, and then it is the one too many.
    // (squeue shows it as gres:gpu, Slurm's TRES as gres/gpu=1.)
    const one = await submit('one', 'gpu');
    expect(one.status, JSON.stringify(one.json)).toBe(201);
    const oneId = Number(one.json.job_id);
    await waitFor('the 1-GPU job running', async () => /^RUNNING None gres:gpu(:1)?$/.test((await queue()).get(oneId) ?? ''), 30_000, 250);
    await waitFor('3 GPUs counted', async () => (await gpuQuota())?.usage === 3, 30_000, 250);
    const again = await submit('again', 'gpu');
    expect(again.status, JSON.stringify(again.json)).toBe(409);
    expect(again.json).toMatchObject({ quota: { limit: 'max_gpus', value: 3, usage: 3, request: 1 } });
    // Two nodes with one GPU each ask for two.
    const wide = await submit('wide', 'gpu:1', { nodes: 2 });
    expect(wide.json).toMatchObject({ quota: { limit: 'max_gpus', usage: 3, request: 2 } });

    expect([...(await queue()).keys()].sort()).toEqual([twoId, oneId].sort());
    expect(await gpuQuota()).toEqual({ scope: 'tenant', subject: 'science', limit: 'max_gpus', value: 3, usage: 3, over: false });
  });

  it('holds a GPU job sent straight to Slurm past max_gpus, and releases it when a GPU job ends', async () => {
    const [twoId] = [...(await queue()).entries()].find(([, s]) => s.endsWith('gres:gpu:2'))!;
    // Pending until its begin time, so only the hub's hold keeps it from running.
    const direct = await sbatchAs(slurm, 'alice', ['-A', 'research', '-p', 'debug', '-t', '5', '-J', `${TAG}-direct`, '--gres=gpu:1', '--begin=now+3600', '--wrap', 'true']);
    await waitFor('the direct GPU job held by the hub', async () => (await queue()).get(direct) === 'PENDING JobHeldAdmin gres:gpu:1', 30_000, 250);
    // The quota counts GPUs allocated to running jobs: still 3, the held job's GPU is not in use.
    expect(await gpuQuota()).toMatchObject({ usage: 3, over: false });

    await slurmCli(slurm, 'scancel', [String(twoId)]);
    await waitFor('the direct GPU job released', async () => (await queue()).get(direct) === 'PENDING BeginTime gres:gpu:1', 30_000, 250);
    await waitFor('1 GPU in use', async () => (await gpuQuota())?.usage === 1, 30_000, 250);
  });

  it('counts --gpus (the job total) and --gpus-per-node (times the nodes) as --gres, passes them to Slurm, and refuses the excess', async () => {
    // Start from nothing in use: only this case's jobs hold GPUs.
    await cancelOurs();
    await waitFor('no GPUs in use', async () => (await gpuQuota())?.usage === 0, 30_000, 250);

    const total = await submit('total', '', { gpus: 1 });
    expect(total.status, JSON.stringify(total.json)).toBe(201);
    const totalId = Number(total.json.job_id);
    await waitFor('the --gpus=1 job running', async () => (await queue()).get(totalId)?.startsWith('RUNNING None') === true, 30_000, 250);
    await waitFor('1 GPU counted', async () => (await gpuQuota())?.usage === 1, 30_000, 250);

    const perNode = await submit('pernode', '', { gpus_per_node: 2 });
    expect(perNode.status, JSON.stringify(perNode.json)).toBe(201);
    const perNodeId = Number(perNode.json.job_id);
    // Slurm got --gpus-per-node=2: its per-node TRES is two GPUs.
    await waitFor('the --gpus-per-node=2 job running', async () => (await queue()).get(perNodeId) === 'RUNNING None gres:gpu:2', 30_000, 250);
    await waitFor('3 GPUs counted', async () => (await gpuQuota())?.usage === 3, 30_000, 250);

    // One GPU on each of two nodes is two more: refused before Slurm, naming the limit, usage and request.
    const wide = await submit('pernode-over', '', { gpus_per_node: 1, nodes: 2 });
    expect(wide.status, JSON.stringify(wide.json)).toBe(409);
    expect(wide.json).toMatchObject({ code: 'SF_QUOTA_EXCEEDED', quota: { scope: 'tenant', subject: 'science', limit: 'max_gpus', value: 3, usage: 3, reserved: 0, request: 2 } });
    const more = await submit('total-over', '', { gpus: 1 });
    expect(more.json).toMatchObject({ code: 'SF_QUOTA_EXCEEDED', quota: { limit: 'max_gpus', usage: 3, request: 1 } });

    expect([...(await queue()).keys()].sort()).toEqual([totalId, perNodeId].sort());
  });
});

describe('GPU quotas with policy slurm: GrpTRES=gres/gpu, enforced by Slurm itself', () => {
  beforeAll(async () => {
    await cancelOurs();
    fleet = await startRealSlurmFleet({
      name: 'qgpuslurm',
      slurm,
      hub: {
        multi_tenancy: {
          enabled: true,
          enforcement_interval: '1s',
          tenants: { science: { clusters: [slurm.cluster], accounts: ['research'], users: ['alice'], resources: { max_gpus: 3 }, enforcement: { policy: 'slurm' } } },
        },
      },
      agentEnv: { ...process.env, SLURM_CONF: slurm.cliEnv.SLURM_CONF, SFLEET_TEST_SLURM_JWT: slurm.jwt },
      tokens: ['alice'],
    });
  }, 150_000);

  it("writes max_gpus as GrpTRES=gres/gpu=3, and Slurm keeps alice's GPU job past it pending", async () => {
    const grpTres = async (): Promise<string> => {
      const out = await slurmCli(slurm, 'sacctmgr', ['-n', '-P', 'show', 'assoc', 'where', `cluster=${slurm.cluster}`, 'account=research', 'format=User,GrpTRES']);
      return out.split('\n').map((l) => l.split('|')).find((f) => f[0] === '')?.[1] ?? '';
    };
    await waitFor('GrpTRES=gres/gpu=3 on research', async () => (await grpTres()) === 'gres/gpu=3', 30_000, 250);
    const args = (name: string, gres: string): string[] => ['-A', 'research', '-p', 'debug', '-t', '5', '-J', `${TAG}-${name}`, `--gres=${gres}`, '--wrap', 'sleep 300'];
    const first = await sbatchAs(slurm, 'alice', args('s1', 'gpu:2'));
    const second = await sbatchAs(slurm, 'alice', args('s2', 'gpu:2'));
    await waitFor('the first running, the second pending on the GPU limit', async () => {
      const q = await queue();
      return q.get(first) === 'RUNNING None gres:gpu:2' && q.get(second) === 'PENDING AssocGrpGRES gres:gpu:2';
    }, 30_000, 250);
    await waitFor('the running job\'s GPUs counted', async () => (await gpuQuota())?.usage === 2, 30_000, 250);
  });
});
