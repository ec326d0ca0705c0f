// The spool when its files are deleted or truncated under it (real files; ENOSPC and read-only
// filesystems are in test/storage-faults.test.ts, which mounts them).
import { mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock/index.js';
import { WriteFaults } from '../../shared/durability/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { DeltaSpool } from './delta-spool.js';
import { job, poll } from './testdata/spool-fixtures.js';

const logger = silentLogger();

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'spool-faults-'));
  const clock = new ManualClock();
  const faults = new WriteFaults({ logger, clock });
  const spool = DeltaSpool.open(dir, { cluster: 'c1', maxBytes: 1 << 20, retryMs: 1_000 }, { logger, faults, clock: () => clock.now() });
  return { dir, clock, faults, spool };
}

describe('DeltaSpool under lost files', () => {
  for (const how of ['deleted', 'truncated'] as const) {
    it(`notices deltas.log ${how} at the next maintain and spools a snapshot of everything it holds`, () => {
      const { dir, faults, spool } = setup();
      poll(spool, [job(1), job(2)]);
      poll(spool, [job(1), job(2), job(3)]);
      const epoch = spool.epoch;
      const log = join(dir, 'deltas.log');
      if (how === 'deleted') rmSync(log);
      else truncateSync(log, 5);
      // A write to a deleted file "works": only the check finds it.
      poll(spool, [job(1), job(2), job(3), job(4)]);
      spool.maintain();
      expect(faults.errorCounts().get('spool')).toBe(1);
      // Rewritten at once from memory: a new epoch whose first delta holds all four jobs.
      expect(faults.degraded()).toEqual([]);
      expect(spool.unspooled).toBe(false);
      expect(spool.epoch).not.toBe(epoch);
      expect(statSync(log).size).toBeGreaterThan(5);
      spool.close();
      const again = DeltaSpool.open(dir, { cluster: 'c1', maxBytes: 1 << 20 }, { logger });
      expect(again.epoch).toBe(spool.epoch);
      expect([...again.objects.job.keys()].sort()).toEqual([...spool.objects.job.keys()].sort());
      expect(again.objects.job.size).toBe(4);
      expect(again.unacked()[0].snapshot).toBe(true);
      again.close();
    });
  }

  it('notices a deleted checkpoint once one was written', () => {
    const { dir, faults, spool } = setup();
    poll(spool, [job(1)]);
    spool.ack(spool.epoch, spool.lastSeq);
    spool.checkpoint();
    spool.maintain();
    expect(faults.errorCounts().get('spool') ?? 0).toBe(0);
    rmSync(join(dir, 'checkpoint.bin'));
    spool.maintain();
    expect(faults.errorCounts().get('spool')).toBe(1);
    spool.close();
    // Nothing was pending: the checkpoint holds the acked state again, same epoch.
    const again = DeltaSpool.open(dir, { cluster: 'c1', maxBytes: 1 << 20 }, { logger });
    expect(again.epoch).toBe(spool.epoch);
    expect(again.objects.job.size).toBe(1);
    again.close();
  });

  it('keeps deltas in memory while the directory cannot be written, and spools a snapshot once it can', () => {
    const { dir, clock, faults, spool } = setup();
    poll(spool, [job(1)]);
    // The directory gone and a plain file in its place: every write and rewrite fails (ENOTDIR).
    rmSync(dir, { recursive: true });
    writeFileSync(dir, 'not a directory');
    spool.maintain(); // deleted -> rewrite fails -> unspooled
    expect(spool.unspooled).toBe(true);
    expect(faults.degraded()).toHaveLength(1);
    const during = poll(spool, [job(1), job(2)])!;
    expect(during.seq).toBeGreaterThan(0);
    // The stream sends what memory holds.
    expect(spool.unacked().flatMap((d) => d.upserts).some((o) => o.kind?.$case === 'job' && o.kind.value.id === 2)).toBe(true);
    // Within the retry interval no new attempt; after it, still failing: counted, still degraded.
    spool.maintain();
    const failures = faults.errorCounts().get('spool')!;
    clock.advance(1_000);
    spool.maintain();
    expect(faults.errorCounts().get('spool')).toBe(failures + 1);
    rmSync(dir);
    clock.advance(1_000);
    spool.maintain();
    expect(spool.unspooled).toBe(false);
    expect(faults.degraded()).toEqual([]);
    spool.close();
    const again = DeltaSpool.open(dir, { cluster: 'c1', maxBytes: 1 << 20 }, { logger });
    expect(again.objects.job.size).toBe(2);
    expect(again.epoch).toBe(spool.epoch);
    again.close();
  });
});
