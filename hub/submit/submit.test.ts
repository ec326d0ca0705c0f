import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ManualClock } from '../../shared/clock/index.js';
import { parseConfigText } from '../../shared/config/index.js';
import { jobDelta, testJob } from '../../shared/delta/testdata/fleet-fixtures.js';
import { toProblem } from '../../shared/errors/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { checkSubmitSpec, checkSubmitUser, jobEnvironment } from '../../shared/submit/index.js';
import { FleetState } from '../fleet/index.js';
import { multiTenancyConfigSchema, Tenancy } from '../tenancy/index.js';
import { Admission, admissionRequest, requestOf } from './admission.js';
import { QuotaExceededError } from './errors.js';
import { SharedAdmission } from './shared-admission.js';

const tenancy = new Tenancy(
  parseConfigText(
    z.object({ multi_tenancy: multiTenancyConfigSchema }).strict(),
    `multi_tenancy:
  enabled: true
  tenants:
    research:
      clusters: [c1]
      accounts: [research]
      resources: { max_jobs: 4, max_cpus: 8 }
      user_resources: { alice: { max_jobs: 2 } }
`,
    'hub.yaml',
  ).multi_tenancy!,
);
const job = (more: object = {}) => checkSubmitSpec({ wrap: 'true', account: 'research', ...more });

function setup() {
  const state = new FleetState();
  const clock = new ManualClock(0);
  state.apply(jobDelta([testJob(1, { cluster: 'c1', account: 'research', user: 'bob', state: 'RUNNING', nodes: ['n1'], cpus: 2 })], { cluster: 'c1', snapshot: true }));
  return { state, clock, admission: new Admission({ tenancy, state, clock }, { ttlMs: 60_000 }) };
}

function refusal(fn: () => unknown): QuotaExceededError {
  try {
    fn();
  } catch (err) {
    if (err instanceof QuotaExceededError) return err;
    throw err;
  }
  throw new Error('admitted');
}

describe('the job spec', () => {
  it('turns --wrap into a script and refuses bad values, naming the field', () => {
    expect(job().script).toBe('#!/bin/sh\ntrue\n');
    expect(() => checkSubmitSpec({ script: 'echo no shebang' })).toThrow(/must start with #!/);
    expect(() => checkSubmitSpec({ wrap: 'x', script: '#!/bin/sh\n' })).toThrow(/either script or wrap/);
    expect(() => job({ partition: 'a b' })).toThrow(/partition: invalid/);
    expect(() => job({ nodes: 0 })).toThrow(/nodes: must be a whole number/);
    expect(() => job({ export: { 'BAD-NAME': 'x' } })).toThrow(/export: invalid variable/);
    expect(() => checkSubmitSpec({ script: `#!/bin/sh\n${'x'.repeat(1024 * 1024)}` })).toThrow(/larger than/);
  });

  it('names the refused field apart from the text too, so a form shows the error beside its input', () => {
    const field = (f: () => unknown): unknown => {
      try {
        f();
      } catch (err) {
        return toProblem(err).field;
      }
      return undefined;
    };
    expect(field(() => job({ partition: 'a b' }))).toBe('partition');
    expect(field(() => job({ time_minutes: 0 }))).toBe('time_minutes');
    expect(field(() => job({ chdir: 'a\nb' }))).toBe('chdir');
    expect(field(() => checkSubmitSpec({ script: 'echo no shebang' }))).toBe('script');
    expect(field(() => checkSubmitSpec({ wrap: ' ' }))).toBe('wrap');
    expect(field(() => admissionRequest(tenancy, 'c1', undefined, 'alice', job()))).toBe('account');
  });

  it('gives the job a clean environment: a minimal PATH, HOME, then the --export values', () => {
    expect(jobEnvironment(job({ export: { FOO: 'bar', PATH: '/opt/bin' } }), '/home/alice')).toEqual({ PATH: '/opt/bin', HOME: '/home/alice', FOO: 'bar' });
    expect(jobEnvironment(job(), '/home/alice')).toEqual({ PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/home/alice' });
  });

  it('counts what a job asks for as the quota counts it (array tasks one by one)', () => {
    expect(requestOf(job({ array: '1-10', ntasks: 2, cpus_per_task: 2 }))).toMatchObject({ jobs: 10, cpus: 40 });
    expect(requestOf(job({ nodes: 2, gres: 'gpu:2', mem_mb: 1024 }))).toMatchObject({ jobs: 1, nodes: 2, gpus: 4, memory: 2 * 1024 ** 3 });
  });

  it('reads GPUs from --gres as sbatch does: a count left out is one, a type is no count', () => {
    const gpus = (gres: string, nodes?: number): number => requestOf(job({ gres, ...(nodes ? { nodes } : {}) })).gpus;
    expect(gpus('gpu')).toBe(1);
    expect(gpus('gpu:a100')).toBe(1);
    expect(gpus('gpu:a100:3')).toBe(3);
    expect(gpus('gres:gpu:2')).toBe(2);
    expect(gpus('gpu', 3)).toBe(3);
    expect(gpus('mps:100,gpu:2')).toBe(2);
    expect(gpus('gpu:1,gpu:a100:2')).toBe(3);
    expect(gpus('mps:100')).toBe(0);
    expect(gpus('gpu:1k')).toBe(1024);
  });

  it('counts --gpus as the job total and --gpus-per-node on each node, as Slurm allocates them', () => {
    const gpus = (more: object): number => requestOf(job(more)).gpus;
    expect(gpus({ gpus: 3 })).toBe(3);
    expect(gpus({ gpus: 'a100:3', nodes: 2 })).toBe(3);
    expect(gpus({ gpus_per_node: 2 })).toBe(2);
    expect(gpus({ gpus_per_node: 'a100:2', nodes: 3 })).toBe(6);
    // Slurm takes --gres=gpu and --gpus-per-node together (TresPerNode=gres:gpu:1,gres:gpu:1): both count.
    expect(gpus({ gpus_per_node: 1, gres: 'gpu:1', nodes: 2 })).toBe(4);
    // A job total and a per-node count: each is a floor, the larger is reserved.
    expect(gpus({ gpus: 4, gpus_per_node: 1, nodes: 2 })).toBe(4);
    expect(gpus({ gpus: 1, gpus_per_node: 2, nodes: 2 })).toBe(4);
    // Array tasks count one by one.
    expect(requestOf(job({ gpus_per_node: 2, nodes: 2, array: '1-3' }))).toMatchObject({ jobs: 3, nodes: 6, gpus: 12 });
  });

  it('takes --gpus and --gpus-per-node as [type:]count, and refuses anything else naming the field', () => {
    expect(job({ gpus: 2, gpus_per_node: 'a100:1' })).toMatchObject({ gpus: '2', gpus_per_node: 'a100:1' });
    expect(job({ gpus: '4' }).gpus).toBe('4');
    for (const bad of [0, -1, 1.5, '0', 'gpu', 'a100:', ':2', 'a100:2,v100:1', '2 --wrap', 2_000_000, true, {}]) {
      expect(() => job({ gpus_per_node: bad }), JSON.stringify(bad)).toThrow(/gpus_per_node: \[type:\]count/);
    }
    expect(() => job({ gpus: 'x;y' })).toThrow(/^gpus: /);
  });
});

describe('who a job may run as', () => {
  const rules = { min_uid: 1000, forbidden: ['slurm'] };
  it('never root, the SlurmUser, or a uid below min_uid', () => {
    expect(() => checkSubmitUser('root', undefined, rules)).toThrow(/may not be submitted as root/);
    expect(() => checkSubmitUser('slurm', { name: 'slurm', uid: 2000, home: '/' }, rules)).toThrow(/as slurm/);
    expect(() => checkSubmitUser('daemon', { name: 'daemon', uid: 1, home: '/' }, rules)).toThrow(/uid 1 is below submit.min_uid 1000/);
    expect(() => checkSubmitUser('alice', { name: 'alice', uid: 1001, home: '/home/alice' }, rules)).not.toThrow();
  });
});

describe('admission', () => {
  it('refuses naming the limit, the usage, what is reserved and the request', () => {
    const { admission } = setup();
    const err = refusal(() => admission.admit('c1', 'research', 'alice', job({ array: '1-5' })));
    expect(err.detail).toEqual({ quota: { scope: 'tenant', subject: 'research', limit: 'max_jobs', value: 4, usage: 1, reserved: 0, request: 5 } });
    expect(err.message).toBe('tenant research: max_jobs is 4, 1 in use, this job asks for 5');
  });

  it('holds admitted quota until the job shows in the fleet state, so concurrent submits cannot overshoot', () => {
    const { admission, state } = setup();
    const a = admission.admit('c1', 'research', 'alice', job());
    const b = admission.admit('c1', 'research', 'alice', job());
    // alice's own limit (2) is reached by the two reservations though Slurm has none of her jobs yet.
    expect(refusal(() => admission.admit('c1', 'research', 'alice', job())).detail).toMatchObject({ quota: { scope: 'user', usage: 0, reserved: 2 } });
    // The tenant limit (4) counts bob's running job, both reservations and the two tasks asked for.
    expect(refusal(() => admission.admit('c1', 'research', 'carol', job({ array: '1-2' }))).detail).toMatchObject({ quota: { scope: 'tenant', usage: 1, reserved: 2 } });
    admission.submitted(a, '7');
    admission.release(b); // Slurm refused b: its reservation goes
    expect(admission.reservations()).toBe(1);
    state.apply(jobDelta([testJob(7, { cluster: 'c1', account: 'research', user: 'alice', state: 'PENDING' })], { cluster: 'c1', seq: 2 }));
    expect(admission.reservations()).toBe(0); // counted by the fleet state now, not twice
    expect(admission.admit('c1', 'research', 'alice', job())).toBeDefined();
    expect(refusal(() => admission.admit('c1', 'research', 'alice', job())).detail).toMatchObject({ quota: { scope: 'user', usage: 1, reserved: 1 } });
  });

  it("matches an array's reservation task by task as its tasks show: never counted twice, never released early", () => {
    const { admission, state } = setup(); // bob's running job: 1 of the tenant's 4
    const arr = admission.admit('c1', 'research', 'carol', job({ array: '1-3' }));
    admission.submitted(arr, '100');
    expect(refusal(() => admission.admit('c1', 'research', 'dave', job())).detail).toMatchObject({ quota: { scope: 'tenant', usage: 1, reserved: 3 } });
    // Slurm started task 1 as job 101; the pending record 100_[2-3] has not reached this hub yet.
    const task = (id: number, taskId: number, more: object = {}) => testJob(id, { cluster: 'c1', account: 'research', user: 'carol', state: 'RUNNING', array_job_id: 100, array_task_id: taskId, ...more });
    state.apply(jobDelta([task(101, 1)], { cluster: 'c1', seq: 2 }));
    expect(refusal(() => admission.admit('c1', 'research', 'dave', job())).detail).toMatchObject({ quota: { scope: 'tenant', usage: 2, reserved: 2 } });
    // The pending record shows with its two tasks: all three show, the reservation holds nothing more.
    state.apply(jobDelta([task(100, 0, { state: 'PENDING', array_task_id: undefined, array_task_string: '2-3' })], { cluster: 'c1', seq: 3 }));
    expect(admission.reservations()).toBe(0);
    expect(refusal(() => admission.admit('c1', 'research', 'dave', job())).detail).toMatchObject({ quota: { scope: 'tenant', usage: 4, reserved: 0 } });
  });

  it("keeps an array's reservation while only its pending record shows, and a task that ended stays matched", () => {
    const { admission, state } = setup();
    const arr = admission.admit('c1', 'research', 'carol', job({ array: '1-2' }));
    admission.submitted(arr, '200');
    // The record 200 (the array job id) shows first, standing for task 2 only: task 1 (job 201) is not here yet.
    state.apply(jobDelta([testJob(200, { cluster: 'c1', account: 'research', user: 'carol', state: 'PENDING', array_job_id: 200, array_task_string: '2' })], { cluster: 'c1', seq: 2 }));
    expect(admission.reservations()).toBe(1);
    expect(refusal(() => admission.admit('c1', 'research', 'dave', job({ array: '1-2' }))).detail).toMatchObject({ quota: { scope: 'tenant', usage: 2, reserved: 1 } });
    // Task 1 shows already ended, then leaves the state: it was seen, so it is not reserved again.
    state.apply(jobDelta([testJob(201, { cluster: 'c1', account: 'research', user: 'carol', state: 'COMPLETED', array_job_id: 200, array_task_id: 1 })], { cluster: 'c1', seq: 3 }));
    expect(admission.reservations()).toBe(0);
    state.apply(jobDelta([], { cluster: 'c1', seq: 4, removedJobs: [201] }));
    expect(admission.reservations()).toBe(0);
    expect(admission.admit('c1', 'research', 'dave', job({ array: '1-2' }))).toBeDefined();
  });

  it('lets a reservation lapse after its ttl (the job ended before it showed)', () => {
    const { admission, clock } = setup();
    admission.submitted(admission.admit('c1', 'research', 'alice', job()), '99');
    expect(admission.reservations()).toBe(1);
    clock.advance(60_000);
    expect(admission.reservations()).toBe(0);
  });

  it('needs the account when tenants are configured; an account of no tenant is not limited here', () => {
    const { admission } = setup();
    expect(() => admission.admit('c1', undefined, 'alice', job())).toThrow(/names its Slurm account/);
    expect(admission.admit('c2', 'other', 'alice', job({ array: '1-100' }))).toBeUndefined();
  });
});

describe('SubmitService: Idempotency-Key', () => {
  it("a client's key reaches the agent scoped to the caller and target: another caller's same key is another submit", async () => {
    const { SubmitService } = await import('./submit-service.js');
    const { submitConfigSchema } = await import('./config.js');
    const keys: string[] = [];
    const commands = { submit: async (_c: string, _u: string, _s: unknown, _by: string, key: string) => (keys.push(key), { job_id: String(keys.length), message: 'Submitted' }) };
    const admission = { admit: async () => ({}), submitted: async () => undefined, release: async () => undefined };
    const service = new SubmitService({ commands: commands as never, admission: admission as never, lookup: async (name) => ({ name, uid: 2000, home: `/home/${name}` }) }, submitConfigSchema.parse({}));
    const as = (name: string) => ({ principal: { name, method: 'local', groups: [], attributes: {} }, rows: () => ({ allows: () => true }), inTenant: () => true }) as never;
    const ann = await service.submit(as('ann'), 'c1', { wrap: 'true' }, 'nightly-1');
    const bob = await service.submit(as('bob'), 'c1', { wrap: 'true' }, 'nightly-1');
    expect(keys).toHaveLength(2);
    expect(keys[0]).not.toBe(keys[1]);
    expect(keys.some((k) => k.includes('nightly-1'))).toBe(false);
    // Each caller is told the key it sent; ann's repeat is answered from the hub's memory.
    expect([ann.idempotency_key, bob.idempotency_key]).toEqual(['nightly-1', 'nightly-1']);
    expect(await service.submit(as('ann'), 'c1', { wrap: 'true' }, 'nightly-1')).toEqual(ann);
    expect(keys).toHaveLength(2);
  });
});

/** A hub of the group as it reads reservations: what one still holds needs its fleet state only (no etcd call). */
function hub(state: FleetState): SharedAdmission {
  return new SharedAdmission(
    { ns: undefined as never, region: 'r1', hubId: 'hub-1', lease: () => undefined, tenancy, state, clock: new ManualClock(0), logger: silentLogger() },
    { ttlMs: 60_000, callTimeoutMs: 1_000 },
  );
}

// Another hub's reservation of a 3-task array, as etcd holds it, once Slurm took it as job 100.
const KEY = 'admission/r1/held/research/6f1c0d1e-reservation';
const held = (more: object = {}) => ({
  hub: 'hub-2',
  cluster: 'c1',
  account: 'research',
  user: 'carol',
  request: requestOf(job({ array: '1-3' })),
  array: true,
  job_id: '100',
  ...more,
});
const pending = () => testJob(100, { cluster: 'c1', account: 'research', user: 'carol', state: 'PENDING', array_job_id: 100, array_task_string: '1-3' });

describe("a hub group's array reservation", () => {
  it('is not counted again once its tasks showed and then, finished, left the fleet state', () => {
    const state = new FleetState();
    state.apply(jobDelta([], { cluster: 'c1', snapshot: true }));
    const a = hub(state);
    expect(a.left(KEY, held())?.request.jobs).toBe(3); // nothing of it shows yet
    state.apply(jobDelta([pending()], { cluster: 'c1', seq: 2 }));
    expect(a.left(KEY, held())).toBeUndefined(); // its three tasks show: counted by the state, not twice
    // The tasks ran and ended; Slurm purged them, so they leave the state. They were seen: the
    // reservation must not hold three jobs again (which would refuse submits that fit the quota).
    state.apply(jobDelta([], { cluster: 'c1', seq: 3, removedJobs: [100] }));
    expect(a.left(KEY, held())).toBeUndefined();
  });

  it('goes by what its own hub wrote it saw, on a hub that was not looking while the tasks showed', () => {
    const state = new FleetState();
    state.apply(jobDelta([], { cluster: 'c1', snapshot: true }));
    const b = hub(state); // never read the reservation while its tasks showed
    expect(b.left(KEY, held({ shown: 3 }))).toBeUndefined();
    expect(b.left(KEY.replace('reservation', 'other'), held({ shown: 1 }))?.request.jobs).toBe(2);
  });
});
