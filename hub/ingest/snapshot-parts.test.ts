import { describe, expect, it } from 'vitest';
import type { Delta } from '../../generated/fleet/v1/agent.js';
import { testJob } from '../../shared/delta/testdata/fleet-fixtures.js';
import { toGrpcStatus } from '../../shared/errors/index.js';
import { BadSnapshotPartError } from './errors.js';
import { SnapshotParts } from './snapshot-parts.js';

/** What the agent reads when `add` refuses a part (the details of the stream's end). */
function refusal(add: () => unknown): string {
  try {
    add();
  } catch (err) {
    if (err instanceof BadSnapshotPartError) return toGrpcStatus(err).details;
    throw err;
  }
  throw new Error('the part was taken');
}

function part(seq: number, n: number, total: number, ids: number[], over: Partial<Delta> = {}): Delta {
  return {
    cluster: 'c1',
    epoch: 7,
    seq,
    upserts: ids.map((id) => ({ kind: { $case: 'job' as const, value: testJob(id, { cluster: 'c1' }) } })),
    removals: [],
    observed_at: `2026-11-27T00:00:0${seq}Z`,
    snapshot: true,
    events: [],
    snapshot_part: n,
    snapshot_parts: total,
    ...over,
  } as Delta;
}

const ids = (d: Delta): number[] => d.upserts.map((o) => (o.kind?.value as { id: number }).id);

describe('SnapshotParts', () => {
  it('holds the parts and gives one whole snapshot at the last part, at its seq', () => {
    const parts = new SnapshotParts();
    expect(parts.add(part(1, 1, 3, [1, 2]))).toBeUndefined();
    expect(parts.collecting).toBe(true);
    expect(parts.add(part(2, 2, 3, [3]))).toBeUndefined();
    const whole = parts.add(part(3, 3, 3, [4, 5]))!;
    expect(whole).toMatchObject({ cluster: 'c1', epoch: 7, seq: 3, snapshot: true, snapshot_part: 0, snapshot_parts: 0, observed_at: '2026-11-27T00:00:03Z' });
    expect(ids(whole)).toEqual([1, 2, 3, 4, 5]);
    expect(parts.collecting).toBe(false);
  });

  it('a new first part replaces a snapshot that was half in', () => {
    const parts = new SnapshotParts();
    parts.add(part(1, 1, 2, [1]));
    parts.add(part(1, 1, 2, [9], { epoch: 8 }));
    const whole = parts.add(part(2, 2, 2, [10], { epoch: 8 }))!;
    expect(whole.epoch).toBe(8);
    expect(ids(whole)).toEqual([9, 10]);
  });

  it('refuses parts that do not follow: a skipped seq, a missing first part, a changed count, another epoch', () => {
    const parts = new SnapshotParts();
    expect(() => parts.add(part(2, 2, 3, [1]))).toThrow(BadSnapshotPartError);
    parts.add(part(1, 1, 3, [1]));
    expect(refusal(() => parts.add(part(3, 2, 3, [2])))).toMatch(/SF_INGEST_BAD_SNAPSHOT_PART: got part 2 of 3 at epoch 7 seq 3 after part 1 of 3 at epoch 7 seq 1/);
    expect(parts.collecting).toBe(false);
    parts.add(part(1, 1, 3, [1]));
    expect(() => parts.add(part(2, 2, 4, [2]))).toThrow(BadSnapshotPartError);
    parts.add(part(1, 1, 3, [1]));
    expect(() => parts.add(part(2, 2, 3, [2], { epoch: 9 }))).toThrow(BadSnapshotPartError);
  });

  it('refuses malformed part numbers and parts of a delta that is not a snapshot', () => {
    const parts = new SnapshotParts();
    expect(refusal(() => parts.add(part(1, 0, 3, [1])))).toMatch(/part 0 of 3/);
    expect(refusal(() => parts.add(part(1, 4, 3, [1])))).toMatch(/part 4 of 3/);
    expect(refusal(() => parts.add(part(1, 1, 2, [1], { snapshot: false })))).toMatch(/snapshot false/);
  });

  it('carries the events of every part', () => {
    const parts = new SnapshotParts();
    const ev = (id: string) => ({ id, cluster: 'c1', type: 'controller_failover', severity: 'warning', message: '', occurred_at: '', attributes: {} });
    parts.add(part(1, 1, 2, [1], { events: [ev('a')] }));
    const whole = parts.add(part(2, 2, 2, [2], { events: [ev('b')] }))!;
    expect(whole.events.map((e) => e.id)).toEqual(['a', 'b']);
  });
});
