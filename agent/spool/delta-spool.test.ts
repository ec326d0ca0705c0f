import { mkdtempSync, readFileSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/logging/index.js';
import type { Job } from '../../shared/model/index.js';
import { DeltaSpool } from './delta-spool.js';
import { job, poll } from './testdata/spool-fixtures.js';
import { decodeDelta } from '../../shared/delta/index.js';
import { AgentMessage } from '../../generated/fleet/v1/agent.js';

const logger = silentLogger();

describe('DeltaSpool', () => {
  it('numbers deltas, marks the first of an epoch as a snapshot, frees on ack', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-'));
    const spool = DeltaSpool.open(dir, { cluster: 'c1', maxBytes: 1 << 20 }, { logger });
    const first = poll(spool, [job(1), job(2)])!;
    const second = poll(spool, [job(1), job(2, 'COMPLETED')])!;
    expect([first.seq, second.seq]).toEqual([1, 2]);
    expect(first.snapshot).toBe(true);
    expect(second.snapshot).toBe(false);
    expect(spool.unacked().map((d) => d.seq)).toEqual([1, 2]);
    spool.ack(spool.epoch, 1);
    expect(spool.unacked().map((d) => d.seq)).toEqual([2]);
    spool.ack(spool.epoch + 1, 2); // another epoch's ack frees nothing
    expect(spool.unacked().map((d) => d.seq)).toEqual([2]);
    spool.close();
  });

  it('survives a restart: same epoch, same seq, unacked deltas kept, no re-send of known state', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-'));
    const a = DeltaSpool.open(dir, { cluster: 'c1', maxBytes: 1 << 20 }, { logger });
    poll(a, [job(1)]);
    poll(a, [job(1), job(2)]);
    a.ack(a.epoch, 1);
    const epoch = a.epoch;
    a.close(); // as after SIGKILL: nothing else is flushed

    const b = DeltaSpool.open(dir, { cluster: 'c1', maxBytes: 1 << 20 }, { logger });
    expect(b.epoch).toBe(epoch);
    expect(b.lastSeq).toBe(2);
    expect(b.objects.job.size).toBe(2);
    // The ack of seq 1 was not persisted; the hub's welcome tells us again. Both remain.
    expect(b.unacked().map((d) => d.seq)).toEqual([1, 2]);
    // Same poll result after restart: nothing new to send.
    expect(poll(b, [job(1), job(2)])).toBeUndefined();
    expect(poll(b, [job(2)])!.seq).toBe(3);
    b.close();
  });

  it('checkpoints once everything is acked, and reopens from the checkpoint', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-'));
    const a = DeltaSpool.open(dir, { cluster: 'c1', maxBytes: 1 << 20, checkpointBytes: 1 }, { logger });
    poll(a, [job(1)]);
    poll(a, [job(1), job(2)]);
    a.ack(a.epoch, 2);
    expect(readFileSync(join(dir, 'deltas.log')).length).toBe(0);
    a.close();
    const b = DeltaSpool.open(dir, { cluster: 'c1', maxBytes: 1 << 20 }, { logger });
    expect(b.lastSeq).toBe(2);
    expect(b.ackedSeq).toBe(2);
    expect([...b.objects.job.keys()].sort()).toEqual([1, 2]);
    b.close();
  });

  it('compacts into a snapshot in a new epoch when full: nothing is dropped', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-'));
    const spool = DeltaSpool.open(dir, { cluster: 'c1', maxBytes: 2000 }, { logger });
    const firstEpoch = spool.epoch;
    const jobs: Job[] = [];
    for (let i = 1; i <= 40; i++) {
      jobs.push(job(i));
      poll(spool, [...jobs]);
    }
    expect(spool.compactions).toBeGreaterThan(0);
    expect(spool.epoch).not.toBe(firstEpoch);
    const pending = spool.unacked();
    expect(pending[0].snapshot).toBe(true);
    // The snapshot plus what followed it hold all 40 jobs.
    const ids = new Set<number>();
    for (const d of pending) for (const o of d.upserts) ids.add((o.kind!.value as Job).id);
    expect(ids.size).toBe(40);
    spool.close();
    const again = DeltaSpool.open(dir, { cluster: 'c1', maxBytes: 2000 }, { logger });
    expect(again.epoch).toBe(spool.epoch);
    expect(again.objects.job.size).toBe(40);
    again.close();
  });

  it('keeps unacked events when it compacts into a snapshot', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-'));
    const spool = DeltaSpool.open(dir, { cluster: 'c1', maxBytes: 1 << 20 }, { logger });
    poll(spool, [job(1)]);
    const event = { id: 'e1', cluster: 'c1', type: 'controller_failover', severity: 'warning', message: 'primary down', occurred_at: '2026-01-01T00:00:00Z', attributes: { from_endpoint: 'a', to_endpoint: 'b' } };
    spool.append([], [], [event]);
    const snapshot = spool.compactToSnapshot('hub asked');
    expect(snapshot.events).toEqual([event]);
    spool.close();
  });

  it('keeps the events of the delta that filled the spool in the snapshot it becomes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-'));
    const spool = DeltaSpool.open(dir, { cluster: 'c1', maxBytes: 600 }, { logger });
    poll(spool, [job(1)]);
    const event = { id: 'e2', cluster: 'c1', type: 'controller_down', severity: 'critical', message: 'x'.repeat(700), occurred_at: '2026-01-01T00:00:00Z', attributes: {} };
    const delta = spool.append([], [], [event]);
    expect(delta.snapshot).toBe(true);
    expect(delta.events).toEqual([event]);
    spool.close();
  });

  it('recovers from a torn write at the end of the log', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-'));
    const a = DeltaSpool.open(dir, { cluster: 'c1', maxBytes: 1 << 20 }, { logger });
    poll(a, [job(1)]);
    poll(a, [job(1), job(2)]);
    a.close();
    const log = join(dir, 'deltas.log');
    truncateSync(log, readFileSync(log).length - 3);
    const b = DeltaSpool.open(dir, { cluster: 'c1', maxBytes: 1 << 20 }, { logger });
    expect(b.lastSeq).toBe(1);
    expect(b.objects.job.size).toBe(1);
    // The lost change is found again by the next poll.
    expect(poll(b, [job(1), job(2)])!.seq).toBe(2);
    b.close();
  });

  it('refuses a spool directory of another cluster', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-'));
    const a = DeltaSpool.open(dir, { cluster: 'c1', maxBytes: 1 << 20, checkpointBytes: 1 }, { logger });
    poll(a, [job(1)]);
    a.ack(a.epoch, 1);
    a.close();
    expect(() => DeltaSpool.open(dir, { cluster: 'c2', maxBytes: 1 << 20 }, { logger })).toThrow(/belongs to cluster "c1"/);
  });

  it('sends what it spooled: the stream bytes of each unacked delta, also after a restart', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-'));
    const a = DeltaSpool.open(dir, { cluster: 'c1', maxBytes: 1 << 20 }, { logger });
    poll(a, [job(1), job(2)]);
    poll(a, [job(1), job(2, 'COMPLETED')]);
    a.ack(a.epoch, 1);
    const sent = [...a.unackedWire()].map(({ seq, wire }) => [seq, AgentMessage.decode(wire).body?.value]);
    expect(sent).toEqual([[2, a.unacked()[0]]]);
    a.close();
    const b = DeltaSpool.open(dir, { cluster: 'c1', maxBytes: 1 << 20 }, { logger });
    const resent = [...b.unackedWire()].map(({ seq, wire }) => [seq, AgentMessage.decode(wire).body?.value]);
    expect(resent.map(([seq]) => seq)).toEqual([1, 2]);
    expect(resent[1][1]).toEqual(sent[0][1]);
    expect(b.unackedCount).toBe(2);
    b.close();
  });

  it('turns an acked first snapshot into the checkpoint as it is, and reopens from it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-'));
    const a = DeltaSpool.open(dir, { cluster: 'c1', maxBytes: 1 << 20, checkpointBytes: 1 }, { logger });
    const first = poll(a, [job(1), job(2), job(3)])!;
    const spooled = readFileSync(join(dir, 'deltas.log')).subarray(8);
    a.ack(a.epoch, 1);
    // The log is empty, the checkpoint holds the snapshot's bytes.
    expect(readFileSync(join(dir, 'deltas.log')).length).toBe(0);
    const checkpoint = readFileSync(join(dir, 'checkpoint.bin'));
    expect(checkpoint.equals(spooled)).toBe(true);
    expect(decodeDelta(checkpoint)).toMatchObject({ epoch: first.epoch, seq: 1, snapshot: true });
    a.close();
    const b = DeltaSpool.open(dir, { cluster: 'c1', maxBytes: 1 << 20, checkpointBytes: 1 }, { logger });
    expect([b.epoch, b.lastSeq, b.ackedSeq, b.objects.job.size]).toEqual([first.epoch, 1, 1, 3]);
    expect(poll(b, [job(1), job(2)])).toMatchObject({ seq: 2, snapshot: false, removals: [{ id: '3' }] });
    b.close();
  });

  it('writes the whole state as the checkpoint when deltas followed the snapshot', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-'));
    const a = DeltaSpool.open(dir, { cluster: 'c1', maxBytes: 1 << 20, checkpointBytes: 1 }, { logger });
    poll(a, [job(1), job(2)]);
    poll(a, [job(1), job(2), job(3)]);
    a.ack(a.epoch, 2);
    const checkpoint = decodeDelta(readFileSync(join(dir, 'checkpoint.bin')));
    expect([checkpoint.seq, checkpoint.snapshot, checkpoint.upserts.length]).toEqual([2, true, 3]);
    a.close();
  });
});
