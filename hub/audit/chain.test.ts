import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/logging/index.js';
import { AuditLog } from './audit-log.js';
import { NodeAuditFiles, type AuditFiles } from './audit-files.js';
import { auditConfigSchema } from './config.js';
import { AuditWriteError } from './errors.js';
import { lineHash, type AuditRecord } from './record.js';
import { verifyChain } from './verify.js';

const DAY = 86_400_000;
const T0 = Date.parse('2019-01-01T10:00:00Z');

function fresh(extra: Record<string, unknown> = {}, files?: AuditFiles) {
  const dir = mkdtempSync(join(tmpdir(), `audit-${process.pid}-`));
  const clock = { now: T0 };
  const log = new AuditLog(auditConfigSchema.parse({ dir, ...extra }), { hubId: 'hub-1', dataDir: dir, logger: silentLogger(), now: () => clock.now, files });
  return { dir, clock, log };
}

const cancel = (user: string, id: number) => ({ action: 'jobs:cancel', resource: `job prod-a/${id}`, outcome: 'success' as const, status: 200, user, transport: 'http' as const, required: true });

/** Three days of records: three files of 4 records each. */
async function threeDays() {
  const f = fresh();
  await f.log.open();
  for (let d = 0; d < 3; d++) {
    for (let i = 0; i < 4; i++) await f.log.record(cancel('alice', d * 10 + i));
    f.clock.now += DAY;
  }
  const files = readdirSync(f.dir).filter((n) => n.endsWith('.jsonl')).sort();
  return { ...f, files };
}

const lines = (dir: string, file: string) => readFileSync(join(dir, file), 'utf8').split('\n').slice(0, -1);
const rewrite = (dir: string, file: string, ls: string[]) => writeFileSync(join(dir, file), ls.map((l) => `${l}\n`).join(''));
const verify = (dir: string) => verifyChain(new NodeAuditFiles(dir));

describe('the audit hash chain', () => {
  it('writes one file per UTC day, each starting with an anchor, and verifies', async () => {
    const { dir, files, log } = await threeDays();
    expect(files).toEqual(['audit-20190101-0001.jsonl', 'audit-20190102-0001.jsonl', 'audit-20190103-0001.jsonl']);
    const second = lines(dir, files[1]).map((l) => JSON.parse(l));
    expect(second[0]).toMatchObject({ type: 'anchor', prev_file: files[0], seq: 5 });
    expect(second[1]).toMatchObject({ type: 'record', seq: 5, action: 'jobs:cancel', resource: 'job prod-a/10', user: 'alice', outcome: 'success', hub_id: 'hub-1', level: 'Metadata' });
    expect(verify(dir)).toMatchObject({ ok: true, files: 3, records: 12, first_seq: 1, last_seq: 12, starts: 'at the genesis record' });
    await log.close();
  });

  it('finds an edited field, at its line', async () => {
    const { dir, files } = await threeDays();
    const ls = lines(dir, files[1]);
    ls[2] = ls[2].replace('"user":"alice"', '"user":"mallory"');
    rewrite(dir, files[1], ls);
    expect(verify(dir)).toMatchObject({ ok: false, file: files[1], line: 3, reason: expect.stringContaining('edited') });
  });

  it('finds an edit whose hash was recomputed, at the next line', async () => {
    const { dir, files } = await threeDays();
    const ls = lines(dir, files[1]);
    const rec = JSON.parse(ls[2]) as AuditRecord;
    rec.outcome = 'denied';
    rec.hash = lineHash(rec);
    ls[2] = JSON.stringify(rec);
    rewrite(dir, files[1], ls);
    expect(verify(dir)).toMatchObject({ ok: false, file: files[1], line: 4, reason: expect.stringContaining('deleted, inserted or reordered') });
  });

  it('finds a deleted record', async () => {
    const { dir, files } = await threeDays();
    const ls = lines(dir, files[0]);
    ls.splice(2, 1);
    rewrite(dir, files[0], ls);
    expect(verify(dir)).toMatchObject({ ok: false, file: files[0], line: 3, reason: expect.stringContaining('prev_hash') });
  });

  it('finds two swapped records', async () => {
    const { dir, files } = await threeDays();
    const ls = lines(dir, files[2]);
    [ls[1], ls[2]] = [ls[2], ls[1]];
    rewrite(dir, files[2], ls);
    expect(verify(dir)).toMatchObject({ ok: false, file: files[2], line: 2, reason: expect.stringContaining('reordered') });
  });

  it('finds a deleted middle file', async () => {
    const { dir, files } = await threeDays();
    rmSync(join(dir, files[1]));
    expect(verify(dir)).toMatchObject({ ok: false, file: files[2], line: 1, reason: expect.stringContaining('a file is missing') });
  });

  it('finds a deleted first file', async () => {
    const { dir, files } = await threeDays();
    rmSync(join(dir, files[0]));
    expect(verify(dir)).toMatchObject({ ok: false, file: files[1], line: 1, reason: expect.stringContaining('no retention record accounts for it') });
  });

  it('finds records cut off the end of the last file (against HEAD)', async () => {
    const { dir, files } = await threeDays();
    const ls = lines(dir, files[2]);
    rewrite(dir, files[2], ls.slice(0, -2));
    expect(verify(dir)).toMatchObject({ ok: false, file: files[2], reason: expect.stringContaining('HEAD says the chain reached seq 12 but the files end at seq 10') });
  });

  it('finds records cut off the end of a middle file', async () => {
    const { dir, files } = await threeDays();
    rewrite(dir, files[0], lines(dir, files[0]).slice(0, -1));
    expect(verify(dir)).toMatchObject({ ok: false, file: files[1], line: 1, reason: expect.stringContaining(`records at its end were removed`) });
  });

  it('cuts a torn last line (a crash mid-write) at open and continues the chain', async () => {
    const { dir, files, log, clock } = await threeDays();
    await log.close();
    appendFileSync(join(dir, files[2]), '{"type":"record","seq":13,"us');
    expect(verify(dir)).toMatchObject({ ok: false, file: files[2], reason: expect.stringContaining('incomplete') });
    const again = new AuditLog(auditConfigSchema.parse({ dir }), { hubId: 'hub-1', dataDir: dir, logger: silentLogger(), now: () => clock.now });
    await again.open();
    expect(await again.record(cancel('bob', 99))).toMatchObject({ seq: 13 });
    expect(verify(dir)).toMatchObject({ ok: true, records: 13 });
    await again.close();
  });

  it('group-commits concurrent records in one order, each durable when its promise resolves', async () => {
    const { dir, log } = fresh();
    await log.open();
    const recs = await Promise.all(Array.from({ length: 50 }, (_, i) => log.record(cancel(`u${i}`, i))));
    expect(recs.map((r) => r!.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const onDisk = lines(dir, 'audit-20190101-0001.jsonl').slice(1).map((l) => JSON.parse(l).user);
    expect(onDisk).toEqual(recs.map((r) => r!.user));
    expect(verify(dir)).toMatchObject({ ok: true, records: 50 });
    await log.close();
  });

  it('starts a new file at max_file_size, chained to the one before', async () => {
    const { dir, log } = fresh({ max_file_size: 4096 });
    await log.open();
    for (let i = 0; i < 30; i++) await log.record(cancel('alice', i));
    const files = readdirSync(dir).filter((n) => n.endsWith('.jsonl')).sort();
    expect(files.length).toBeGreaterThan(1);
    expect(files[1]).toBe('audit-20190101-0002.jsonl');
    expect(verify(dir)).toMatchObject({ ok: true, records: 30, files: files.length });
    await log.close();
  });
});

describe('audit retention', () => {
  it('keeps 2555 days, deletes whole older files, records it, and the rest still verifies', async () => {
    const { dir, clock, log } = fresh({ retention_days: 2555 });
    await log.open();
    // One file per day on days 0, 1 and 2; then seven years later.
    for (let d = 0; d < 3; d++) {
      await log.record(cancel('alice', d));
      clock.now += DAY;
    }
    clock.now = T0 + 2555 * DAY + DAY; // day 0 is older than 2555 days, days 1 and 2 are not
    const retention = await log.applyRetention();
    expect(retention).toMatchObject({ deleted: ['audit-20190101-0001.jsonl'], chain_starts_at: { file: 'audit-20190102-0001.jsonl' } });
    const files = readdirSync(dir).filter((n) => n.endsWith('.jsonl')).sort();
    expect(files).toEqual(['audit-20190102-0001.jsonl', 'audit-20190103-0001.jsonl', 'audit-20251231-0001.jsonl']);
    const result = verify(dir);
    expect(result).toMatchObject({ ok: true, files: 3, records: 3, first_seq: 2, starts: expect.stringContaining('at audit-20190102-0001.jsonl') });
    const marker = log.query({ action: 'audit:retention', limit: 10 }).items[0];
    expect(marker).toMatchObject({ outcome: 'success', reason: 'older than retention_days (2555)', resource: 'audit file audit-20190101-0001.jsonl' });

    // Deleting more than retention did is still found.
    rmSync(join(dir, files[0]));
    expect(verify(dir)).toMatchObject({ ok: false, file: files[1], reason: expect.stringContaining('no retention record accounts for it') });
    await log.close();
  });

  it('runs at open and never deletes the file being written', async () => {
    const { dir, clock, log } = fresh({ retention_days: 1 });
    await log.open();
    await log.record(cancel('alice', 1));
    await log.close();
    clock.now += 10 * DAY;
    const again = new AuditLog(auditConfigSchema.parse({ dir, retention_days: 1 }), { hubId: 'hub-1', dataDir: dir, logger: silentLogger(), now: () => clock.now });
    await again.open();
    // The only file is the one being written: kept, though older than a day.
    expect(readdirSync(dir).filter((n) => n.endsWith('.jsonl'))).toEqual(['audit-20190101-0001.jsonl']);
    await again.record(cancel('alice', 2));
    clock.now += 2 * DAY;
    await again.record(cancel('alice', 3));
    await again.applyRetention();
    expect(readdirSync(dir).filter((n) => n.endsWith('.jsonl')).sort()).toEqual(['audit-20190113-0001.jsonl']);
    expect(verify(dir)).toMatchObject({ ok: true, records: 2 });
    await again.close();
  });
});

describe('audit write failures', () => {
  it('rejects the record, keeps the chain intact, refuses mutations until a write works again', async () => {
    const dir = mkdtempSync(join(tmpdir(), `audit-${process.pid}-`));
    const real = new NodeAuditFiles(dir);
    real.ensureDir();
    let broken = false;
    const flaky: AuditFiles = Object.assign(Object.create(real) as AuditFiles, {
      append: async (name: string, data: string) => {
        if (broken) {
          // Half the bytes reach the disk, then the disk is full.
          await real.append(name, data.slice(0, 40));
          throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
        }
        return real.append(name, data);
      },
    });
    const { log } = fresh({}, flaky);
    await log.open();
    await log.record(cancel('alice', 1));
    broken = true;
    await expect(log.record(cancel('alice', 2))).rejects.toBeInstanceOf(AuditWriteError);
    expect(log.writable).toBe(false);
    expect(log.writer.stats.write_failures).toBe(1);
    expect(verify(dir)).toMatchObject({ ok: true, records: 1 });
    broken = false;
    expect(await log.record(cancel('alice', 3))).toMatchObject({ seq: 2 });
    expect(log.writable).toBe(true);
    expect(verify(dir)).toMatchObject({ ok: true, records: 2 });
    await log.close();
  });
});

describe('a keyed (HMAC-SHA256) chain', () => {
  const KEY = 'audit-hmac-key-3b7e';
  const keyed = (dir: string, clock: { now: number }, withKey = true) =>
    new AuditLog(auditConfigSchema.parse({ dir, ...(withKey ? { hmac_key_env: 'AUDIT_KEY' } : {}) }), { hubId: 'hub-1', dataDir: dir, logger: silentLogger(), now: () => clock.now, env: { AUDIT_KEY: KEY } });

  it('needs the key to verify; a rewrite with plain SHA-256 hashes is found by HEAD, and by the hub when it opens the log', async () => {
    const { dir, clock, log } = fresh();
    await log.open();
    await log.record(cancel('alice', 1));
    await log.close();
    // Enabling the key starts a new, keyed file chained to the plain one, and signs HEAD.
    const k = keyed(dir, clock);
    await k.open();
    await k.record(cancel('alice', 2));
    await k.record(cancel('alice', 3));
    expect(k.verify()).toMatchObject({ ok: true, files: 2, keyed_files: 1, records: 3 });
    await k.close();
    const files = readdirSync(dir).filter((n) => n.endsWith('.jsonl')).sort();
    expect(files).toEqual(['audit-20190101-0001.jsonl', 'audit-20190101-0002.jsonl']);
    expect(verify(dir)).toMatchObject({ ok: false, file: files[1], line: 1, reason: expect.stringContaining('needs the key') });
    expect(verifyChain(new NodeAuditFiles(dir), { key: Buffer.from('wrong') })).toMatchObject({ ok: false, file: files[1], line: 1, reason: expect.stringContaining('HMAC does not match') });

    // Someone without the key edits a record and recomputes the file's hashes, plain, and HEAD.
    const recs = lines(dir, files[1]).map((l) => JSON.parse(l) as AuditRecord & { mac?: string });
    recs[1].user = 'mallory';
    let prev = recs[0].prev_hash;
    for (const r of recs) {
      delete r.mac;
      r.prev_hash = prev;
      r.hash = lineHash(r);
      prev = r.hash;
    }
    rewrite(dir, files[1], recs.map((r) => JSON.stringify(r)));
    const keyedHead = readFileSync(join(dir, 'HEAD'), 'utf8');
    writeFileSync(join(dir, 'HEAD'), JSON.stringify({ file: files[1], seq: 3, hash: prev }));
    expect(verifyChain(new NodeAuditFiles(dir), { key: Buffer.from(KEY) })).toMatchObject({ ok: false, file: 'HEAD', reason: expect.stringContaining('HEAD carries no HMAC') });

    // Left with the signed HEAD, the forged tail is found when the hub opens the log, and recorded.
    writeFileSync(join(dir, 'HEAD'), keyedHead);
    expect(verifyChain(new NodeAuditFiles(dir), { key: Buffer.from(KEY) })).toMatchObject({ ok: false, file: 'HEAD', reason: 'the record at seq 3 is not the one HEAD names: the chain was rewritten from there' });
    const again = keyed(dir, clock);
    await again.open();
    expect(again.query({ action: 'audit:integrity', limit: 10 }).items).toEqual([expect.objectContaining({ outcome: 'error', reason: expect.stringContaining('the record at seq 3 is not the one HEAD names') })]);
    await again.close();
  });

  it('finds a keyed file turned plain before a keyed one (a downgrade)', async () => {
    const { dir, clock } = fresh();
    const k = keyed(dir, clock);
    await k.open();
    await k.record(cancel('alice', 1));
    clock.now += DAY;
    await k.record(cancel('alice', 2));
    await k.close();
    // The key is removed from the config: a plain file follows the keyed ones.
    const plain = keyed(dir, clock, false);
    await plain.open();
    await plain.record(cancel('alice', 3));
    await plain.close();
    expect(verifyChain(new NodeAuditFiles(dir), { key: Buffer.from(KEY) })).toMatchObject({ ok: false, file: 'audit-20190102-0002.jsonl', reason: expect.stringContaining('not keyed but the one before is') });
  });

  it('refuses to start without the key it is configured with', () => {
    const dir = mkdtempSync(join(tmpdir(), `audit-${process.pid}-`));
    expect(() => new AuditLog(auditConfigSchema.parse({ dir, hmac_key_env: 'MISSING_KEY' }), { hubId: 'h', dataDir: dir, logger: silentLogger(), env: {} })).toThrow('audit HMAC key: environment variable MISSING_KEY is not set');
  });
});
