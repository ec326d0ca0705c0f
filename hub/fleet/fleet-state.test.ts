import { describe, expect, it } from 'vitest';
import { ObjectKind, type Job } from '../../shared/model/index.js';
import type { Delta } from '../../shared/delta/index.js';
import { jobDelta, testJob } from '../../shared/delta/testdata/fleet-fixtures.js';
import { FleetState } from './fleet-state.js';
import { queryJobs } from './queries.js';

const job = (cluster: string, id: number, extra: Partial<Job> = {}): Job => testJob(id, { cluster, state: 'RUNNING', nodes: ['node1'], node_list: 'node1', ...extra });
const delta = (cluster: string, epoch: number, seq: number, jobs: Job[], opts: Partial<Delta> = {}): Delta => ({ ...jobDelta(jobs, { cluster, epoch, seq }), ...opts });

describe('FleetState', () => {
  it('applies only the next seq of the epoch, flags duplicates and gaps', () => {
    const s = new FleetState();
    expect(s.fit(delta('a', 7, 1, []))).toBe('gap'); // unknown epoch needs a snapshot
    const snap = delta('a', 7, 1, [job('a', 1)], { snapshot: true });
    expect(s.fit(snap)).toBe('apply');
    s.apply(snap);
    expect(s.fit(delta('a', 7, 1, []))).toBe('duplicate');
    expect(s.fit(delta('a', 7, 3, []))).toBe('gap');
    expect(s.fit(delta('a', 7, 2, []))).toBe('apply');
    expect(s.fit(delta('a', 8, 1, [], { snapshot: true }))).toBe('apply');
  });

  it('a snapshot replaces the cluster, removing what it no longer has, and keeps indexes right', () => {
    const s = new FleetState();
    s.apply(delta('a', 1, 1, [job('a', 1), job('a', 2, { user: 'bob' })], { snapshot: true }));
    expect(queryJobs(s, { user: 'bob' }).items.map((j) => j.id)).toEqual([2]);
    s.apply(delta('a', 2, 1, [job('a', 1)], { snapshot: true }));
    expect(queryJobs(s, { user: 'bob' }).items).toEqual([]);
    expect(s.clusters.get('a')!.objects.job.size).toBe(1);
  });

  it('moves a job between index entries when its state changes, and removes it', () => {
    const s = new FleetState();
    s.apply(delta('a', 1, 1, [job('a', 1, { state: 'PENDING', nodes: [] })], { snapshot: true }));
    s.apply(delta('a', 1, 2, [job('a', 1, { state: 'RUNNING', nodes: ['node3'] })]));
    expect(queryJobs(s, { state: 'pending' }).items).toEqual([]);
    expect(queryJobs(s, { state: 'RUNNING', node: 'node3' }).items.map((j) => j.id)).toEqual([1]);
    s.apply({ ...delta('a', 1, 3, []), removals: [{ kind: ObjectKind.OBJECT_KIND_JOB, id: '1' }] });
    expect(queryJobs(s, { node: 'node3' }).items).toEqual([]);
  });

  it('pages through filtered results in a stable order with opaque cursors', () => {
    const s = new FleetState();
    s.apply(delta('b', 1, 1, [job('b', 5), job('b', 1)], { snapshot: true }));
    s.apply(delta('a', 1, 1, [job('a', 9), job('a', 3, { account: 'ops' }), job('a', 2)], { snapshot: true }));
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = queryJobs(s, { account: 'research' }, 2, cursor);
      seen.push(...page.items.map((j) => `${j.cluster}/${j.id}`));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual(['a/2', 'a/9', 'b/1', 'b/5']);
    expect(() => queryJobs(s, {}, 2, 'not-a-cursor')).toThrow(/invalid cursor/);
    expect(() => queryJobs(s, {}, 100000)).toThrow(/limit must be/);
  });

  it('indexes each partition of a multi-partition pending job', () => {
    const s = new FleetState();
    s.apply(delta('a', 1, 1, [job('a', 1, { partition: 'debug,batch', state: 'PENDING' })], { snapshot: true }));
    expect(queryJobs(s, { partition: 'batch' }).items).toHaveLength(1);
  });
});
