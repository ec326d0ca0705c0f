import { describe, expect, it } from 'vitest';
import { jobDelta, testJob, testNode } from '../../shared/delta/testdata/fleet-fixtures.js';
import { ObjectKind, wrapObject, type Job, type Node } from '../../shared/model/index.js';
import type { Delta } from '../../generated/fleet/v1/agent.js';
import { FleetState } from '../fleet/index.js';
import { FleetCounts } from './fleet-counts.js';
import { tallyCluster, type Amounts, type ClusterTally } from './fleet-tally.js';

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

const STATES = ['PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED'];
const PARTITIONS = ['debug', 'batch', 'gpu', 'debug,batch'];
const ACCOUNTS = ['physics', 'chem', 'bio'];
const REASONS = ['None', 'Priority', 'Resources', '', 'QOSMaxJobsPerUserLimit'];
const TRES = ['cpu=1', 'cpu=4,gres/gpu=2,gres/gpu:a100=2', 'cpu=8,gres/gpu=1'];
const NODE_STATES = ['IDLE', 'MIXED', 'ALLOCATED', 'DOWN'];
const FLAGS = [[], ['DRAIN'], ['MAINTENANCE'], ['DRAIN', 'NOT_RESPONDING'], ['POWERED_DOWN'], ['CLOUD']];
const NODE_PARTS = [[], ['debug'], ['batch', 'debug'], ['gpu']];
const GRES = ['', 'gpu:4', 'gpu:a100:2(S:0-1),gpu:t4:1'];

/** Plain, ordered data: the two tallies compare as values, whatever order their maps were filled in. */
function plain(t: ClusterTally): Record<string, unknown> {
  const counts = (m: Map<string, number>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const amounts = (m: Map<string, Amounts>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    jobs: counts(t.jobs), accountJobs: counts(t.accountJobs), nodes: counts(t.nodes), nodeFlags: counts(t.nodeFlags), pendingReasons: counts(t.pendingReasons),
    cpus: t.cpus, gpus: t.gpus, memoryBytes: t.memoryBytes,
    partitionCpus: amounts(t.partitionCpus), partitionGpus: amounts(t.partitionGpus), partitionMemoryBytes: amounts(t.partitionMemoryBytes),
  };
}

function counted(counts: FleetCounts): Map<string, Record<string, unknown>> {
  return new Map([...counts.tallies()].map(([record, t]) => [record.name, plain(t)]));
}

function recounted(state: FleetState): Map<string, Record<string, unknown>> {
  return new Map([...state.clusters.values()].map((record) => [record.name, plain(tallyCluster(record.objects))]));
}

describe('FleetCounts: the fleet tally kept as deltas apply', () => {
  it('equals a recount after random upserts, removals, state, partition and account changes, node changes and snapshots', () => {
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const r = prng(seed);
      const state = new FleetState();
      // Some state before the counts exist (a hub that loaded its store), some after.
      const seq = new Map<string, number>();
      const send = (cluster: string, fields: Partial<Delta>): void => {
        const s = (seq.get(cluster) ?? 0) + 1;
        seq.set(cluster, s);
        state.apply({ ...jobDelta([], { cluster, epoch: 1, seq: s }), ...fields });
      };
      const job = (cluster: string, id: number): Job =>
        testJob(id, { cluster, state: r.pick(STATES), partition: r.pick(PARTITIONS), account: r.pick(ACCOUNTS), state_reason: r.pick(REASONS), tres: r.pick(TRES) });
      const node = (cluster: string, name: string): Node =>
        testNode(name, { cluster, state: r.pick(NODE_STATES), flags: r.pick(FLAGS), partitions: r.pick(NODE_PARTS), gres: r.pick(GRES), cpus: 8 + r.int(56), alloc_cpus: r.int(80), memory_mb: 1024 * (1 + r.int(8)), alloc_memory_mb: 512 * r.int(20) });
      send('a', { upserts: Array.from({ length: 30 }, (_, i) => wrapObject('job', job('a', i + 1))) });
      const counts = new FleetCounts(state);
      expect(counted(counts)).toEqual(recounted(state));
      let changedAfterCheck = 0;
      let mostJobSeries = 0;
      let mostFlagSeries = 0;
      for (let step = 0; step < 300; step++) {
        const cluster = r.pick(['a', 'b', 'c']);
        const held = state.clusters.get(cluster)?.objects;
        const op = r.int(10);
        if (op < 4) {
          // upserts of new and existing jobs: any field that is counted may move
          send(cluster, { upserts: Array.from({ length: 1 + r.int(6) }, () => wrapObject('job', job(cluster, 1 + r.int(60)))) });
        } else if (op < 5 && held && held.job.size > 0) {
          // a counted-neutral update (priority, times): skipped by the fast path, still equal
          const j = [...held.job.values()][r.int(held.job.size)]!;
          send(cluster, { upserts: [wrapObject('job', { ...j, priority: r.int(1000), start_time: String(r.int(1e9)) })] });
        } else if (op < 6) {
          send(cluster, { removals: Array.from({ length: 1 + r.int(4) }, () => ({ kind: ObjectKind.OBJECT_KIND_JOB, id: String(1 + r.int(60)) })) });
        } else if (op < 8) {
          send(cluster, { upserts: Array.from({ length: 1 + r.int(3) }, () => wrapObject('node', node(cluster, `n${r.int(12)}`))) });
        } else if (op < 9) {
          send(cluster, { removals: [{ kind: ObjectKind.OBJECT_KIND_NODE, id: `n${r.int(12)}` }] });
        } else {
          // a reset: a snapshot keeps some objects, changes some and drops the rest
          const upserts = [];
          for (let i = 0; i < r.int(40); i++) upserts.push(wrapObject('job', job(cluster, 1 + r.int(60))));
          for (let i = 0; i < r.int(8); i++) upserts.push(wrapObject('node', node(cluster, `n${r.int(12)}`)));
          send(cluster, { snapshot: true, upserts });
        }
        if (r.int(5) === 0) {
          expect(counted(counts), `seed ${seed}, step ${step}`).toEqual(recounted(state));
          changedAfterCheck++;
          for (const [, t] of counts.tallies()) {
            mostJobSeries = Math.max(mostJobSeries, t.jobs.size);
            mostFlagSeries = Math.max(mostFlagSeries, t.nodeFlags.size);
          }
        }
      }
      expect(counted(counts), `seed ${seed}, end`).toEqual(recounted(state));
      expect(changedAfterCheck).toBeGreaterThan(20);
      // the sequences really moved things: jobs in several states and partitions, nodes with flags
      expect(mostJobSeries).toBeGreaterThan(8);
      expect(mostFlagSeries).toBeGreaterThan(2);
    }
  });

  it('keeps counting through each change of a job: pending, running with GPUs, moved partition, gone', () => {
    const state = new FleetState();
    state.apply({ ...jobDelta([], { snapshot: true }), upserts: [wrapObject('node', testNode('g1', { partitions: ['gpu'], gres: 'gpu:4', cpus: 8 }))] });
    const counts = new FleetCounts(state);
    const tally = () => [...counts.tallies()][0]![1];
    state.apply(jobDelta([testJob(1, { partition: 'gpu', state: 'PENDING', state_reason: 'Resources', account: 'physics' })], { seq: 2 }));
    expect(tally().pendingReasons.get('Resources')).toBe(1);
    state.apply(jobDelta([testJob(1, { partition: 'gpu', state: 'RUNNING', account: 'physics', tres: 'cpu=1,gres/gpu=3' })], { seq: 3 }));
    expect(tally().pendingReasons.size).toBe(0);
    expect(tally().gpus).toEqual({ allocated: 3, idle: 1, unavailable: 0 });
    expect(tally().partitionGpus.get('gpu')).toEqual({ allocated: 3, idle: 1, unavailable: 0 });
    state.apply(jobDelta([testJob(1, { partition: 'batch', state: 'RUNNING', account: 'chem', tres: 'cpu=1,gres/gpu=3' })], { seq: 4 }));
    expect(tally().accountJobs).toEqual(new Map([['chem\u0000RUNNING', 1]]));
    expect(tally().partitionGpus.get('batch')).toEqual({ allocated: 3, idle: 0, unavailable: 0 });
    state.apply(jobDelta([], { seq: 5, removedJobs: [1] }));
    expect(tally().jobs.size).toBe(0);
    expect(tally().gpus).toEqual({ allocated: 0, idle: 4, unavailable: 0 });
    // a partition whose last node goes has no resource series left
    state.apply({ ...jobDelta([], { seq: 6 }), removals: [{ kind: ObjectKind.OBJECT_KIND_NODE, id: 'g1' }] });
    expect(tally().partitionCpus.size).toBe(0);
    expect(plain(tally())).toEqual(plain(tallyCluster(state.clusters.get('a')!.objects)));
  });

  it('recounts a cluster whose objects changed without the change feed (a load with notify: false)', () => {
    const state = new FleetState();
    state.apply(jobDelta([testJob(1), testJob(2)], { snapshot: true }));
    const counts = new FleetCounts(state);
    state.apply(jobDelta([testJob(3, { state: 'RUNNING' })], { seq: 2 }), { notify: false });
    expect(counted(counts)).toEqual(recounted(state));
    expect([...counts.tallies()][0]![1].jobs.get('debug\u0000RUNNING')).toBe(1);
  });

  it('stops counting once closed', () => {
    const state = new FleetState();
    state.apply(jobDelta([testJob(1)], { snapshot: true }));
    const counts = new FleetCounts(state);
    counts.close();
    // a same-size change it no longer hears: the counts stay as they were
    state.apply(jobDelta([testJob(1, { state: 'RUNNING' })], { seq: 2 }));
    expect([...counts.tallies()][0]![1].jobs.get('debug\u0000PENDING')).toBe(1);
  });
});
