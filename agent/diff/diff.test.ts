import { describe, expect, it } from 'vitest';
import { emptyObjects } from '../../shared/delta/index.js';
import { emptyClusterModel, ObjectKind, type Job } from '../../shared/model/index.js';
import { diffPoll, sameObject } from './index.js';

function job(id: number, state = 'RUNNING', extra: Partial<Job> = {}): Job {
  return {
    cluster: 'c1', id, name: `j${id}`, user: 'alice', account: 'research', partition: 'debug', qos: 'normal', state,
    state_flags: [], state_reason: 'None', nodes: ['node1'], node_list: 'node1', cpus: 1, node_count: 1,
    working_dir: '/tmp', comment: '', tres: '', ...extra,
  };
}

describe('diffPoll', () => {
  it('sends only what changed and removes what disappeared', () => {
    const known = emptyObjects();
    const first = emptyClusterModel();
    first.job = [job(1), job(2), job(3)];
    expect(diffPoll(known, { model: first }).upserts).toHaveLength(3);

    const second = emptyClusterModel();
    second.job = [job(1), job(2, 'COMPLETED', { exit_code: 0 }), job(4, 'PENDING')];
    const d = diffPoll(known, { model: second });
    expect(d.upserts.map((o) => (o.kind?.value as Job).id).sort()).toEqual([2, 4]);
    expect(d.removals).toEqual([{ kind: ObjectKind.OBJECT_KIND_JOB, id: '3' }]);
    expect(diffPoll(known, { model: second })).toEqual({ upserts: [], removals: [] });
  });

  it('never turns an unchanged (304) or failed kind into removals', () => {
    const known = emptyObjects();
    const m = emptyClusterModel();
    m.job = [job(1)];
    diffPoll(known, { model: m });
    const empty = emptyClusterModel();
    expect(diffPoll(known, { model: empty, unchanged: new Set(['job']) }).removals).toEqual([]);
    expect(diffPoll(known, { model: empty, failed: new Map([['job', new Error('slurmdbd down')]]) }).removals).toEqual([]);
    expect(known.job.size).toBe(1);
  });

  it('compares arrays by content and ignores undefined fields', () => {
    expect(sameObject(job(1, 'RUNNING', { nodes: ['a', 'b'] }), job(1, 'RUNNING', { nodes: ['a', 'b'] }))).toBe(true);
    expect(sameObject(job(1, 'RUNNING', { nodes: ['a', 'b'] }), job(1, 'RUNNING', { nodes: ['a', 'c'] }))).toBe(false);
    expect(sameObject(job(1, 'RUNNING', { exit_code: undefined }), job(1))).toBe(true);
    expect(sameObject(job(1, 'RUNNING', { exit_code: 0 }), job(1))).toBe(false);
  });
});
