import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Delta } from '../../generated/fleet/v1/agent.js';
import { parseConfigText } from '../../shared/config/index.js';
import { jobDelta, testJob } from '../../shared/delta/testdata/fleet-fixtures.js';
import { ObjectKind, wrapObject, type Job } from '../../shared/model/index.js';
import { FleetState } from '../fleet/index.js';
import { multiTenancyConfigSchema, Tenancy } from '../tenancy/index.js';
import { UsageCounts } from './usage-counts.js';
import { countedAs, usageByTenant, type TenantUsage } from './usage.js';

/** A small deterministic PRNG (mulberry32): a failure names its seed and replays. */
function prng(seed: number): { int: (n: number) => number; pick: <T>(xs: readonly T[]) => T } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return { int, pick: (xs) => xs[int(xs.length)] };
}

const tenancy = new Tenancy(
  parseConfigText(
    z.object({ multi_tenancy: multiTenancyConfigSchema }).strict(),
    `multi_tenancy:
  enabled: true
  tenants:
    science:
      clusters: [c1, c2]
      accounts: [research, physics]
    ops:
      clusters: [c1]
      accounts: [ops]
`,
    'hub.yaml',
  ).multi_tenancy!,
);

const STATES = ['PENDING', 'PENDING', 'RUNNING', 'RUNNING', 'COMPLETING', 'REQUEUED', 'COMPLETED', 'FAILED', 'CANCELLED'];
const ACCOUNTS = ['research', 'physics', 'ops', 'other'];
const USERS = ['alice', 'bob', 'carol'];
const TRES = ['', 'cpu=1,mem=500M', 'cpu=4,mem=2G,gres/gpu=2', 'cpu=8,mem=1T,gres/gpu=1'];
const TASKS = ['1-10', '3,5,7-9', '0-100:10%4', '4'];

/** Plain, ordered data: the two compare as values, whatever order their maps were filled in. */
function plain(usage: Map<string, TenantUsage>): unknown {
  const sorted = <V>(m: Map<string, V>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return sorted(usage).map(([name, u]) => [name, u.tenant, sorted(u.accounts), sorted(u.users)]);
}

/** Tasks shown per array job id, counted from the objects. */
function arraysOf(state: FleetState, cluster: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const job of state.clusters.get(cluster)?.objects.job.values() ?? []) {
    if (job.array_job_id !== undefined) out.set(job.array_job_id, (out.get(job.array_job_id) ?? 0) + (countedAs(job)?.tasks ?? 1));
  }
  return out;
}

describe('UsageCounts: quota usage kept as deltas apply', () => {
  it('equals a full recount after random upserts, removals, counted and neutral updates, snapshots and unnotified loads', () => {
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const r = prng(seed);
      const state = new FleetState();
      const seq = new Map<string, number>();
      const send = (cluster: string, fields: Partial<Delta>, notify = true): void => {
        const s = (seq.get(cluster) ?? 0) + 1;
        seq.set(cluster, s);
        state.apply({ ...jobDelta([], { cluster, epoch: 1, seq: s }), ...fields }, { notify });
      };
      const job = (cluster: string, id: number): Job => {
        const array = r.int(3) === 0;
        const st = r.pick(STATES);
        return testJob(id, {
          cluster, state: st, account: r.pick(ACCOUNTS), user: r.pick(USERS), tres: r.pick(TRES), cpus: 1 + r.int(16),
          memory_mb: r.int(3) * 1024, nodes: st === 'PENDING' ? [] : Array.from({ length: r.int(3) }, () => `n${r.int(6)}`),
          ...(array ? { array_job_id: 1000 + r.int(4), array_task_id: r.int(50), ...(st === 'PENDING' ? { array_task_string: r.pick(TASKS) } : {}) } : {}),
        });
      };
      send('c1', { upserts: Array.from({ length: 30 }, (_, i) => wrapObject('job', job('c1', i + 1))) });
      const counts = new UsageCounts(state, tenancy);
      expect(plain(counts.all())).toEqual(plain(usageByTenant(state, tenancy)));
      let compared = 0;
      let mostTasks = 0;
      let mostTenants = 0;
      for (let step = 0; step < 300; step++) {
        const cluster = r.pick(['c1', 'c2', 'c3']);
        const held = state.clusters.get(cluster)?.objects;
        const op = r.int(20);
        if (op < 7) {
          send(cluster, { upserts: Array.from({ length: 1 + r.int(6) }, () => wrapObject('job', job(cluster, 1 + r.int(60)))) });
        } else if (op < 9 && held && held.job.size > 0) {
          // an update the usage does not count (priority, times): skipped at once, still equal
          const j = [...held.job.values()][r.int(held.job.size)]!;
          send(cluster, { upserts: [wrapObject('job', { ...j, priority: r.int(1000), start_time: String(r.int(1e9)) })] });
        } else if (op < 14 && held && held.job.size > 0) {
          // one counted field alone moves
          const j = [...held.job.values()][r.int(held.job.size)]!;
          const moved = r.pick<Partial<Job>>([{ user: r.pick(USERS) }, { account: r.pick(ACCOUNTS) }, { state: r.pick(STATES) }, { nodes: [`n${r.int(6)}`] }, { tres: r.pick(TRES) }, { cpus: 1 + r.int(16) }, { memory_mb: 1024 * r.int(4) }, { array_task_string: r.pick(TASKS) }, { array_job_id: 1000 + r.int(4) }]);
          send(cluster, { upserts: [wrapObject('job', { ...j, ...moved })] });
        } else if (op < 16) {
          send(cluster, { removals: Array.from({ length: 1 + r.int(4) }, () => ({ kind: ObjectKind.OBJECT_KIND_JOB, id: String(1 + r.int(60)) })) });
        } else if (op < 17) {
          // a load the feed does not carry (a restart's rebuild): noticed by the job count, recounted
          send(cluster, { upserts: [wrapObject('job', job(cluster, 100 + step))] }, false);
        } else if (op < 19) {
          send(cluster, { snapshot: true, upserts: Array.from({ length: r.int(40) }, () => wrapObject('job', job(cluster, 1 + r.int(60)))) });
        } else {
          send(cluster, { upserts: Array.from({ length: 1 + r.int(3) }, () => wrapObject('job', job(cluster, 1 + r.int(60)))) });
        }
        if (r.int(4) === 0) {
          compared++;
          mostTenants = Math.max(mostTenants, counts.all().size);
          expect(plain(counts.all()), `seed ${seed}, step ${step}`).toEqual(plain(usageByTenant(state, tenancy)));
          for (const c of ['c1', 'c2', 'c3']) {
            for (const [id, n] of arraysOf(state, c)) {
              expect(counts.arrayTasks(c, id), `seed ${seed}, step ${step}, ${c} array ${id}`).toBe(n);
              mostTasks = Math.max(mostTasks, n);
            }
          }
        }
      }
      expect(plain(counts.all()), `seed ${seed}, end`).toEqual(plain(usageByTenant(state, tenancy)));
      expect(compared).toBeGreaterThan(40);
      // the sequences really moved things: both tenants in use, arrays of many tasks
      expect(mostTenants).toBe(2);
      expect(mostTasks).toBeGreaterThan(10);
      counts.close();
    }
  });

  it('answers admission with the tenant, account and user entries', () => {
    const state = new FleetState();
    state.apply(
      jobDelta(
        [
          testJob(1, { cluster: 'c1', account: 'research', user: 'alice', state: 'RUNNING', nodes: ['n1', 'n2'], cpus: 4, tres: 'cpu=4,mem=2G,gres/gpu=2' }),
          testJob(3, { cluster: 'c1', account: 'physics', user: 'bob', state: 'PENDING', array_job_id: 3, array_task_string: '0-9' }),
        ],
        { cluster: 'c1', snapshot: true },
      ),
    );
    state.apply(jobDelta([testJob(2, { cluster: 'c2', account: 'research', user: 'alice', state: 'RUNNING', nodes: ['n1'], cpus: 2, tres: 'cpu=2,mem=1G' })], { cluster: 'c2', snapshot: true }));
    const counts = new UsageCounts(state, tenancy);
    // n1 of c1 and n1 of c2 are two nodes.
    expect(counts.usageOf('science', 'research', 'alice')).toEqual({
      tenant: { jobs: 12, nodes: 3, cpus: 6, gpus: 2, memory: 3 * 1024 ** 3 },
      account: { jobs: 2, nodes: 3, cpus: 6, gpus: 2, memory: 3 * 1024 ** 3 },
      user: { jobs: 2, nodes: 3, cpus: 6, gpus: 2, memory: 3 * 1024 ** 3 },
    });
    expect(counts.arrayTasks('c1', 3)).toBe(10);
    state.apply(jobDelta([testJob(2, { cluster: 'c2', account: 'research', user: 'alice', state: 'COMPLETED', nodes: ['n1'] })], { cluster: 'c2', seq: 2 }));
    expect(counts.usageOf('science', 'research', 'alice').user).toEqual({ jobs: 1, nodes: 2, cpus: 4, gpus: 2, memory: 2 * 1024 ** 3 });
    expect(counts.usageOf('ops', 'ops', 'carol')).toEqual({ tenant: undefined, account: undefined, user: undefined });
  });
});
