import { describe, expect, it } from 'vitest';
import { testJob } from '../../shared/delta/testdata/fleet-fixtures.js';
import type { Job } from '../../shared/model/index.js';
import { JobIndex } from './job-index.js';

const job = (cluster: string, id: number, over: Partial<Job> = {}): Job => testJob(id, { cluster, ...over });

describe('JobIndex', () => {
  it('moves a job between values when its state and nodes change, and counts pairs across clusters', () => {
    const index = new JobIndex();
    const pending = job('a', 1, { state: 'PENDING', user: 'alice', nodes: [] });
    index.add('a', pending);
    index.add('b', job('b', 1, { state: 'PENDING', user: 'alice', nodes: [] }));
    expect(index.count('state', 'PENDING')).toBe(2);
    expect(index.pairCount('user', 'alice', 'state', 'PENDING')).toBe(2);

    const running = { ...pending, state: 'RUNNING', nodes: ['n1', 'n2'] };
    index.change('a', 1, pending, running);
    expect(index.lookup('state', 'PENDING')).toEqual(new Set(['b/1']));
    expect(index.lookup('state', 'RUNNING')).toEqual(new Set(['a/1']));
    expect(index.lookup('node', 'n2')).toEqual(new Set(['a/1']));
    expect(index.pairCount('state', 'RUNNING', 'user', 'alice')).toBe(1);
    expect(index.pairCount('state', 'PENDING', 'user', 'alice')).toBe(1);
    expect([...index.idsByCluster('state', 'PENDING').keys()]).toEqual(['b']);
  });

  it('leaves a job where it is when the update hands back the same strings and node list', () => {
    const index = new JobIndex();
    const before = job('a', 7, { state: 'RUNNING', nodes: ['n1'], partition: 'debug,batch' });
    index.add('a', before);
    // What the decoder returns for a priority change: the stored instances of unchanged fields.
    const after = { ...before, priority: (before.priority ?? 0) + 1 };
    index.change('a', 7, before, after);
    for (const [field, value] of [['state', 'RUNNING'], ['node', 'n1'], ['partition', 'debug'], ['partition', 'batch'], ['user', before.user]] as const) {
      expect(index.lookup(field, value), `${field}=${value}`).toEqual(new Set(['a/7']));
    }
    // An equal list that is another instance (a generated decode) is no move either.
    index.change('a', 7, after, { ...after, nodes: ['n1'] });
    expect(index.count('node', 'n1')).toBe(1);
    expect(index.pairCount('state', 'RUNNING', 'account', before.account)).toBe(1);
  });

  it('forgets a removed job in every field and pair, and counts it again when it comes back', () => {
    const index = new JobIndex();
    const j = job('a', 3, { state: 'RUNNING', user: 'bob', account: 'ops', nodes: ['n1'], partition: 'gpu' });
    index.add('a', j);
    index.remove('a', j);
    for (const [field, value] of [['state', 'RUNNING'], ['user', 'bob'], ['account', 'ops'], ['node', 'n1'], ['partition', 'gpu']] as const) {
      expect(index.count(field, value), `${field}=${value}`).toBe(0);
      expect(index.idsByCluster(field, value).size).toBe(0);
    }
    expect(index.pairCount('user', 'bob', 'account', 'ops')).toBe(0);
    // Removing what is not there changes nothing.
    index.remove('a', j);
    expect(index.pairCount('account', 'ops', 'user', 'bob')).toBe(0);

    index.add('a', j);
    expect(index.lookup('node', 'n1')).toEqual(new Set(['a/3']));
    expect(index.pairCount('account', 'ops', 'user', 'bob')).toBe(1);
    expect(index.pairCount('node', 'n1', 'user', 'bob')).toBeUndefined();
  });
});
