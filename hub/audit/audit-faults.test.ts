// The audit log under storage faults: a file deleted or truncated under the hub starts a new
// segment whose first record names the break (verify accepts it, and still refuses a break
// nobody named); audit.fallback_dir takes records while the chain cannot be written and they
// are folded back, so verify passes. (Real filesystems under a running hub: test/hub-durable-files.test.ts.)
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/logging/index.js';
import { WriteFaults } from '../../shared/durability/index.js';
import { AuditLog } from './audit-log.js';
import { NodeAuditFiles, type AuditFiles } from './audit-files.js';
import { auditConfigSchema } from './config.js';
import { AuditWriteError } from './errors.js';
import type { AuditLine, AuditRecord } from './record.js';
import { verifyChain } from './verify.js';

const DAY = 86_400_000;
const T0 = Date.parse('2019-01-01T10:00:00Z');
const cancel = (id: number) => ({ action: 'jobs:cancel', resource: `job prod-a/${id}`, outcome: 'success' as const, status: 200, user: 'alice', transport: 'http' as const, required: true });

function fresh(extra: Record<string, unknown> = {}, files?: AuditFiles) {
  const dir = mkdtempSync(join(tmpdir(), `audit-faults-${process.pid}-`));
  const clock = { now: T0 };
  const faults = new WriteFaults({ logger: silentLogger() });
  const log = new AuditLog(auditConfigSchema.parse({ dir, ...extra }), { hubId: 'hub-1', dataDir: dir, logger: silentLogger(), now: () => clock.now, files, faults, checkIntervalMs: 3_600_000 });
  return { dir, clock, log, faults };
}

const names = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.jsonl')).sort();
const linesOf = (dir: string, file: string) => readFileSync(join(dir, file), 'utf8').split('\n').slice(0, -1).map((l) => JSON.parse(l) as AuditLine);
const verify = (dir: string) => verifyChain(new NodeAuditFiles(dir));

describe('an audit file lost under the running hub', () => {
  it('deleted: the next check starts a segment whose first record names the break, and verify accepts it', async () => {
    const { dir, clock, log, faults } = fresh();
    await log.open();
    for (let i = 1; i <= 2; i++) await log.record(cancel(i));
    clock.now += DAY;
    for (let i = 3; i <= 5; i++) await log.record(cancel(i));
    const [first, lost] = names(dir);
    rmSync(join(dir, lost));
    await log.maintain();
    await log.record(cancel(6));
    const files = names(dir);
    expect(files).toEqual([first, 'audit-20190102-0002.jsonl']);
    const segment = linesOf(dir, files[1]);
    expect(segment[0]).toMatchObject({ type: 'anchor', prev_file: lost, seq: 6 });
    expect(segment[1]).toMatchObject({ type: 'record', action: 'audit:break', outcome: 'error', seq: 6, break: { file: lost, how: 'deleted', lost_records: 3, last_good_seq: 2 } });
    expect(segment[2]).toMatchObject({ action: 'jobs:cancel', resource: 'job prod-a/6', seq: 7 });
    expect(verify(dir)).toMatchObject({ ok: true, records: 2 + 2, breaks: [expect.stringMatching(new RegExp(`^${lost} deleted: 3 records \\(\\d+ bytes\\) lost after seq 2$`))] });
    expect(faults.errorCounts().get('audit')).toBe(1);
    expect(faults.degraded()).toEqual([]);
    await log.close();
  });

  it('the only file deleted: the new segment starts the chain again from the genesis hash', async () => {
    const { dir, log } = fresh();
    await log.open();
    await log.record(cancel(1));
    rmSync(join(dir, names(dir)[0]));
    await log.maintain();
    expect(verify(dir)).toMatchObject({ ok: true, records: 1, first_seq: 2, breaks: [expect.stringContaining('deleted: 1 records')] });
    await log.close();
  });

  it('truncated mid-line: what survives counts, the break names what was lost, and an unnamed cut is still refused', async () => {
    const { dir, log } = fresh();
    await log.open();
    for (let i = 1; i <= 4; i++) await log.record(cancel(i));
    const [file] = names(dir);
    const text = readFileSync(join(dir, file), 'utf8');
    // Cut inside the line of seq 3: records 1 and 2 survive whole.
    const cutAt = text.indexOf('"seq":3,') + 5;
    truncateSync(join(dir, file), Buffer.byteLength(text.slice(0, cutAt)));
    await log.maintain();
    await log.record(cancel(5));
    const segment = linesOf(dir, names(dir)[1]);
    const brk = (segment[1] as AuditRecord).break!;
    expect(brk).toMatchObject({ file, how: 'truncated', lost_records: 2, last_good_seq: 2 });
    expect(brk.lost_bytes).toBeGreaterThan(0);
    expect(verify(dir)).toMatchObject({ ok: true, records: 2 + 2, breaks: [expect.stringContaining(`${file} truncated: 2 records`)] });
    await log.close();

    // More cut off later (nobody named that): the break no longer accounts for what is there.
    const survived = readFileSync(join(dir, file), 'utf8');
    truncateSync(join(dir, file), Buffer.byteLength(survived.slice(0, survived.indexOf('"seq":2,'))));
    expect(verify(dir)).toMatchObject({ ok: false, file: names(dir)[1], reason: expect.stringMatching(/more was removed than it names/) });
  });

  it('a file deleted without a named break (the hub stopped) is still refused', async () => {
    const { dir, clock, log } = fresh();
    await log.open();
    await log.record(cancel(1));
    clock.now += DAY;
    await log.record(cancel(2));
    clock.now += DAY;
    await log.record(cancel(3));
    await log.close();
    rmSync(join(dir, names(dir)[1]));
    expect(verify(dir)).toMatchObject({ ok: false, reason: expect.stringMatching(/a file is missing/) });
  });
});

function failingFiles(dir: string) {
  const real = new NodeAuditFiles(dir);
  real.ensureDir();
  const state = { broken: false };
  const files: AuditFiles = Object.assign(Object.create(real) as AuditFiles, {
    append: (name: string, data: string) => (state.broken ? Promise.reject(Object.assign(new Error('EROFS: read-only file system, write'), { code: 'EROFS' })) : real.append(name, data)),
  });
  return { files, state };
}

describe('audit.fallback_dir', () => {
  it('takes the records while the chain cannot be written; they are folded back in order and verify passes', async () => {
    const dir = mkdtempSync(join(tmpdir(), `audit-fb-${process.pid}-`));
    const fallbackDir = join(mkdtempSync(join(tmpdir(), `audit-fb2-${process.pid}-`)), 'fallback');
    const { files, state } = failingFiles(dir);
    const { log, faults } = fresh({ dir, fallback_dir: fallbackDir }, files);
    await log.open();
    await log.record(cancel(1));
    state.broken = true;
    expect(await log.record(cancel(2))).toBeUndefined();
    expect(log.writable).toBe(true);
    expect(await log.record(cancel(3))).toBeUndefined();
    expect(faults.degraded()).toEqual([expect.objectContaining({ store: 'audit', code: 'EROFS' })]);
    expect(readdirSync(fallbackDir)).toEqual(['audit-fallback-hub-1.jsonl']);
    await log.maintain(); // still failing: nothing folded, nothing lost
    expect(log.fallback!.pending().map((r) => r.resource)).toEqual(['job prod-a/2', 'job prod-a/3']);

    state.broken = false;
    await log.maintain();
    expect(existsSync(log.fallback!.path)).toBe(false);
    expect(faults.degraded()).toEqual([]);
    const chain = log.query({ action: 'jobs:*', limit: 100 }).items;
    expect(chain.map((r) => r.resource)).toEqual(['job prod-a/1', 'job prod-a/2', 'job prod-a/3']);
    expect(chain[1].fallback?.folded_at).toBeDefined();
    expect(verify(dir)).toMatchObject({ ok: true, records: 3 });
    await log.close();
  });

  it('without it, or when it fails too, mutations are refused; a check after the disk is fixed reopens them', async () => {
    const dir = mkdtempSync(join(tmpdir(), `audit-fb-${process.pid}-`));
    const { files, state } = failingFiles(dir);
    const { log, faults } = fresh({ dir }, files);
    await log.open();
    state.broken = true;
    await expect(log.record(cancel(1))).rejects.toBeInstanceOf(AuditWriteError);
    expect(log.writable).toBe(false);
    await log.maintain();
    expect(log.writable).toBe(false);
    state.broken = false;
    await log.maintain();
    expect(log.writable).toBe(true);
    expect(faults.degraded()).toEqual([]);
    expect(log.query({ action: 'audit:*', limit: 100 }).items).toEqual([expect.objectContaining({ action: 'audit:resume', reason: expect.stringMatching(/can be written again \(writes failed since /) })]);
    expect(verify(dir)).toMatchObject({ ok: true });
    await log.close();
  });
});
