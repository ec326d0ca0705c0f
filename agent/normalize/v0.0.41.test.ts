import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { adapterFor } from './index.js';

const load = (path: string): unknown => JSON.parse(readFileSync(new URL(`./testdata/${path}`, import.meta.url), 'utf8'));

describe('v0.0.41', () => {
  const a = adapterFor('v0.0.41');

  it('association id is a plain integer', () => {
    expect(a.associations(load('v0.0.41/slurmdb-associations.json'), 'prod-d').map((x) => [x.account, x.user, x.id])).toEqual([
      ['root', '', 1],
      ['biology', 'jbeck', 12],
    ]);
  });

  it('reads v0.0.40-shaped jobs the same way (inherited)', () => {
    const jobs = a.jobs(load('v0.0.40/jobs.json'), 'prod-d');
    expect(jobs.map((j) => [j.id, j.state, j.exit_code, j.exit_signal])).toEqual([
      [776, 'TIMEOUT', undefined, 15],
      [778, 'FAILED', 2, undefined],
      [779, 'OUT_OF_MEMORY', undefined, 9],
      [780, 'PENDING', undefined, undefined],
      [781, 'CANCELLED', undefined, 9],
      [782, 'RUNNING', undefined, undefined],
    ]);
  });
});
