import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/index.js';
import { createLogger } from '../logging/index.js';
import { RecordLog } from '../record-log/index.js';
import { freeBytes } from './free-space.js';
import { WriteFaults } from './write-faults.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger({ name: 't', level: 'info', destination }) };
}

const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });

describe('WriteFaults', () => {
  it('counts every failed write, logs once per interval, and is degraded until a write succeeds', async () => {
    const { lines, logger } = capture();
    const clock = new ManualClock();
    const faults = new WriteFaults({ logger, clock }, { logIntervalMs: 60_000 });
    for (let i = 0; i < 100; i++) faults.failed('spool', enospc);
    clock.advance(60_000);
    faults.failed('spool', enospc);
    await new Promise((r) => setImmediate(r));
    const errors = lines.filter((l) => l.level === 50);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatchObject({ store: 'spool', code: 'ENOSPC' });
    expect(errors[1]).toMatchObject({ failed_since_last_log: 99 });
    expect(faults.errorCounts().get('spool')).toBe(101);
    expect(faults.degraded()).toEqual([expect.objectContaining({ store: 'spool', code: 'ENOSPC' })]);
    faults.ok('spool');
    expect(faults.degraded()).toEqual([]);
    expect(faults.errorCounts().get('spool')).toBe(101);
  });
});

describe('RecordLog after a failed rewrite', () => {
  it('keeps the old file and descriptor: appends go on and nothing is lost', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rl-fault-'));
    const path = join(dir, 'log');
    const { log } = RecordLog.open(path);
    log.append(Buffer.from('a'));
    // The temp file's name taken by a directory: the rewrite fails before the rename.
    mkdirSync(`${path}.tmp-${process.pid}`);
    expect(() => log.rewrite([Buffer.from('x')])).toThrow(/EISDIR/);
    log.append(Buffer.from('b'));
    expect(log.check()).toBe('ok');
    log.close();
    expect(RecordLog.open(path).records.map((r) => Buffer.from(r).toString())).toEqual(['a', 'b']);
  });
});

describe('freeBytes', () => {
  it('reads the free space of a directory, and nothing for one that does not exist', () => {
    expect(freeBytes(tmpdir())).toBeGreaterThan(0);
    expect(freeBytes(join(tmpdir(), 'no-such-dir-sfleet'))).toBeUndefined();
  });
});
