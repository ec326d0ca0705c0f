import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock/index.js';
import { AtRest, readPrefix } from '../../shared/crypto/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import type { AuditEvent } from '../audit/record.js';
import type { LeaderContext } from '../leader/index.js';
import { KeyRotationSchedule } from './index.js';

const DAY = 86_400_000;

/** A leader context whose store forgets everything (a standalone hub after a restart). */
function context(values = new Map<string, string>()): LeaderContext {
  return { region: 'r', hubId: 'h1', token: 1, signal: new AbortController().signal, assertLeading: () => undefined, put: async (k, v) => void values.set(k, v), get: async (k) => values.get(k) };
}

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), `rot-${process.pid}-`));
  const atRest = await AtRest.create({ enabled: true, provider: 'file', file: { path: join(dir, 'keyring.json') } });
  const file = join(dir, 'users.json');
  atRest.writeFile(file, 'hub/users', Buffer.from('x'));
  const clock = new ManualClock();
  const audit: AuditEvent[] = [];
  const schedule = new KeyRotationSchedule({ atRest, roots: [dir], dataDir: dir, clock, audit: { record: async (e) => void audit.push(e) as never }, logger: silentLogger() }, { intervalMs: 30 * DAY });
  return { dir, atRest, file, clock, audit, schedule, version: () => readPrefix(file)?.header.key_version };
}

describe('KeyRotationSchedule', () => {
  it('starts the schedule, waits the interval, rotates and audits; a restarted standalone hub continues from its data dir', async () => {
    const s = await setup();
    expect(await s.schedule.check(context())).toBe('started');
    s.clock.advance(29 * DAY);
    expect(await s.schedule.check(context())).toBe('not-due');
    expect(s.version()).toBe(1);
    s.clock.advance(DAY);
    // A fresh context (the standalone store is in memory): the data dir still knows the start.
    expect(await s.schedule.check(context())).toBe('rotated');
    expect(s.version()).toBe(2);
    expect(s.audit).toEqual([expect.objectContaining({ action: 'keys:rotate', outcome: 'success', resource: expect.stringMatching(/ v2$/), transport: 'internal', required: true })]);
    expect(await s.schedule.check(context())).toBe('not-due');
  });

  it('a key service that fails is audited as an error and tried again at the next look', async () => {
    const s = await setup();
    const values = new Map([['key-rotation', JSON.stringify({ at: new Date(s.clock.now() - 31 * DAY).toISOString() })]]);
    const broken = Object.create(s.atRest) as AtRest;
    broken.rotate = async () => {
      throw new Error('vault https://vault:8200 transit: connection refused');
    };
    const failing = new KeyRotationSchedule({ atRest: broken, roots: [s.dir], dataDir: s.dir, clock: s.clock, audit: { record: async (e) => void s.audit.push(e) as never }, logger: silentLogger() }, { intervalMs: 30 * DAY });
    expect(await failing.check(context(values))).toBe('failed');
    expect(s.audit).toEqual([expect.objectContaining({ action: 'keys:rotate', outcome: 'error', reason: 'vault https://vault:8200 transit: connection refused' })]);
    expect(await s.schedule.check(context(values))).toBe('rotated');
    expect(s.version()).toBe(2);
  });
});
