import { describe, expect, it } from 'vitest';
import { wrapObject, type Job, type Node } from '../model/index.js';
import { applyDelta, emptyObjects, objectKeyOfRef, refOf } from './cluster-objects.js';
import { testJob, testNode } from './testdata/fleet-fixtures.js';

const job = (id: number, state = 'PENDING'): Job => testJob(id, { cluster: 'c', state });
const node = (name: string): Node => testNode(name, { cluster: 'c' });

describe('applyDelta', () => {
  it('a snapshot removes what it does not name, of every kind, then upserts the rest', () => {
    const objects = emptyObjects();
    applyDelta(objects, { snapshot: true, removals: [], upserts: [wrapObject('job', job(1)), wrapObject('job', job(2)), wrapObject('node', node('n1')), wrapObject('node', node('n2'))] });
    // Same id in another kind must not keep an object: job "7" and node "7".
    applyDelta(objects, { snapshot: false, removals: [], upserts: [wrapObject('node', node('7'))] });
    const changes = applyDelta(objects, { snapshot: true, removals: [], upserts: [wrapObject('job', job(2, 'RUNNING')), wrapObject('job', job(7)), wrapObject('node', node('n1'))] }, 'c');
    expect(changes.map((c) => `${c.type} ${c.kind} ${c.id} ${c.cluster}`)).toEqual([
      'remove job 1 c',
      'remove node n2 c',
      'remove node 7 c',
      'upsert job 2 c',
      'upsert job 7 c',
      'upsert node n1 c',
    ]);
    expect([...objects.job.keys()]).toEqual([2, 7]);
    expect([...objects.node.keys()]).toEqual(['n1']);
    expect(objects.job.get(2)!.state).toBe('RUNNING');
  });

  it('a snapshot into an empty cluster only upserts; changes name the cluster only when asked', () => {
    const objects = emptyObjects();
    const changes = applyDelta(objects, { snapshot: true, removals: [{ kind: 1, id: '9' }], upserts: [wrapObject('job', job(1))] });
    expect(changes).toEqual([{ type: 'upsert', kind: 'job', id: 1, value: job(1), previous: undefined }]);
    expect('cluster' in changes[0]).toBe(false);
  });
});

describe('job keys', () => {
  it('jobs are keyed by their numeric id; a removal names one by its decimal id, and only that way', () => {
    const objects = emptyObjects();
    applyDelta(objects, { snapshot: true, removals: [], upserts: [wrapObject('job', job(7)), wrapObject('job', job(8)), wrapObject('node', node('7'))] });
    // "07", "7.0" and "" are not how job 7 is named: nothing is removed.
    expect(applyDelta(objects, { snapshot: false, removals: [refOf('job', '07'), refOf('job', '7.0'), refOf('job', ''), refOf('job', 'x')], upserts: [] })).toEqual([]);
    const changes = applyDelta(objects, { snapshot: false, removals: [refOf('job', '7'), refOf('node', '7')], upserts: [] });
    expect(changes.map((c) => [c.kind, c.id])).toEqual([
      ['job', 7],
      ['node', '7'],
    ]);
    expect([...objects.job.keys()]).toEqual([8]);
    expect(objectKeyOfRef('job', '8')).toBe(8);
    expect(refOf('job', 8)).toEqual(refOf('job', '8'));
  });
});
