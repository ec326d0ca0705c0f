import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { AgentMessage } from '../../generated/fleet/v1/agent.js';
import { decodeDelta } from '../../shared/delta/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import type { Job } from '../../shared/model/index.js';
import { DeltaSpool } from './delta-spool.js';
import { job, poll } from './testdata/spool-fixtures.js';

const logger = silentLogger();

const jobs = (n: number, state?: string): Job[] => Array.from({ length: n }, (_, i) => job(i + 1, state));
const open = (dir: string, extra: object = {}) => DeltaSpool.open(dir, { cluster: 'c1', maxBytes: 1 << 24, snapshotPartObjects: 5, ...extra }, { logger });
const ids = (d: { upserts: { kind?: { value: unknown } }[] }) => d.upserts.map((o) => (o.kind!.value as Job).id);
const sent = (spool: DeltaSpool) => [...spool.unackedWire()].map(({ seq, part, parts }) => [seq, part, parts]);

describe('snapshots in parts in the spool', () => {
  it('spools a big first poll as parts with consecutive seqs, and a small one whole', () => {
    const spool = open(mkdtempSync(join(tmpdir(), 'spool-')));
    const first = poll(spool, jobs(12));
    expect(first).toMatchObject({ seq: 3, snapshot: true });
    expect(sent(spool)).toEqual([
      [1, 1, 3],
      [2, 2, 3],
      [3, 3, 3],
    ]);
    const parts = spool.unacked();
    expect(parts.map(ids)).toEqual([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10], [11, 12]]);
    expect(parts.every((p) => p.snapshot)).toBe(true);
    // The next poll is a plain delta after the parts.
    expect(poll(spool, [...jobs(11), job(12, 'COMPLETED')])).toMatchObject({ seq: 4, snapshot: false });
    expect(sent(spool).at(-1)).toEqual([4, 0, 0]);

    const small = open(mkdtempSync(join(tmpdir(), 'spool-')));
    poll(small, jobs(5));
    expect(sent(small)).toEqual([[1, 0, 0]]);
  });

  it('joins the parts into one message of the whole snapshot for a hub without parts', () => {
    const spool = open(mkdtempSync(join(tmpdir(), 'spool-')));
    poll(spool, jobs(12));
    const msg = AgentMessage.decode(spool.joinedWire(3));
    expect(msg.body?.$case).toBe('delta');
    const whole = (msg.body as { value: ReturnType<typeof decodeDelta> }).value;
    expect(whole).toMatchObject({ cluster: 'c1', epoch: spool.epoch, seq: 3, snapshot: true });
    expect(ids(whole)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(() => spool.joinedWire(2)).toThrow(/not the last part/);
    expect(() => spool.joinedWire(99)).toThrow(/not the last part/);
  });

  it('reopens with every part: the whole state, the same seqs, the parts still unacked', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-'));
    const a = open(dir);
    poll(a, jobs(12));
    poll(a, [...jobs(11), job(12, 'COMPLETED')]);
    const epoch = a.epoch;
    a.close();
    const b = open(dir);
    expect(b.epoch).toBe(epoch);
    expect(b.lastSeq).toBe(4);
    expect(b.objects.job.size).toBe(12);
    expect((b.objects.job.get(12) as Job).state).toBe('COMPLETED');
    expect(sent(b)).toEqual([
      [1, 1, 3],
      [2, 2, 3],
      [3, 3, 3],
      [4, 0, 0],
    ]);
    expect(b.startsWithSnapshot()).toBe(true);
    b.ack(epoch, 3);
    expect(b.startsWithSnapshot()).toBe(false);
  });

  it('an acked snapshot in parts becomes the checkpoint: a reopen holds the whole state, nothing pending', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-'));
    const a = open(dir, { checkpointBytes: 0 });
    poll(a, jobs(12));
    a.ack(a.epoch, 3);
    a.close();
    const b = open(dir);
    expect(b.lastSeq).toBe(3);
    expect(b.objects.job.size).toBe(12);
    expect(sent(b)).toEqual([]);
    expect(poll(b, [...jobs(11), job(12, 'COMPLETED')])).toMatchObject({ seq: 4, snapshot: false });
  });

  it('compacts into a snapshot in parts in a new epoch, carrying the unacked events in the last part', () => {
    const spool = open(mkdtempSync(join(tmpdir(), 'spool-')));
    poll(spool, jobs(7));
    const before = spool.epoch;
    spool.append([], [], [{ id: 'e1', cluster: 'c1', type: 'controller_failover', severity: 'warning', message: 'x', occurred_at: '', attributes: {} }]);
    const snap = spool.compactToSnapshot('hub asked');
    expect(spool.epoch).toBeGreaterThan(before);
    expect(snap.seq).toBe(2);
    const parts = spool.unacked();
    expect(parts.map((p) => [p.seq, p.snapshot_part, p.snapshot_parts, p.upserts.length, p.events.length])).toEqual([
      [1, 1, 2, 5, 0],
      [2, 2, 2, 2, 1],
    ]);
  });

  it('splits a big plain delta into plain deltas of consecutive seqs, removals and events with the last', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-'));
    const spool = open(dir);
    // An events-only delta first (seq 1, an empty snapshot): the first full poll is a plain delta.
    const event = { id: 'e1', cluster: 'c1', type: 'controller_up', severity: 'info', message: '', occurred_at: '', attributes: {} };
    spool.append([], [], [event]);
    expect(poll(spool, jobs(3))).toMatchObject({ seq: 2, snapshot: false });
    const big = poll(spool, [...jobs(2), ...Array.from({ length: 11 }, (_, i) => job(100 + i))]);
    expect(big).toMatchObject({ seq: 5, snapshot: false });
    const deltas = spool.unacked().slice(2);
    expect(deltas.map((d) => [d.seq, d.snapshot, d.snapshot_parts, d.upserts.length, d.removals.length])).toEqual([
      [3, false, 0, 5, 0],
      [4, false, 0, 5, 0],
      [5, false, 0, 1, 1],
    ]);
    spool.close();
    const again = open(dir);
    expect(again.lastSeq).toBe(5);
    expect([...again.objects.job.keys()].sort((x, y) => Number(x) - Number(y))).toEqual([1, 2, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110]);
  });
});

describe('epochs', () => {
  it('a new epoch is above the one it replaces, even in the same millisecond with a smaller random part', () => {
    // The hubs drop a delta of an epoch below the one they hold as a duplicate.
    const random = vi.spyOn(Math, 'random').mockReturnValueOnce(0.999).mockReturnValue(0);
    try {
      const spool = DeltaSpool.open(mkdtempSync(join(tmpdir(), 'spool-')), { cluster: 'c1', maxBytes: 1 << 24, snapshotPartObjects: 5 }, { logger, clock: () => 1_700_000_000_000 });
      poll(spool, jobs(3));
      const first = spool.epoch;
      expect(first).toBe(1_700_000_000_000 * 1000 + 999);
      spool.compactToSnapshot('hub asked');
      expect(spool.epoch).toBe(first + 1);
      spool.compactToSnapshot('hub asked');
      expect(spool.epoch).toBe(first + 2);
    } finally {
      random.mockRestore();
    }
  });
});
