import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RecordLog, frame, readRecords } from '../record-log/index.js';
import { AtRest } from './at-rest.js';
import type { EncryptionConfig } from './config.js';
import { PREFIX_BYTES, readPrefix, rewriteHeader } from './envelope.js';
import { KeyConfigError, KeyUnavailableError, TamperedDataError } from './errors.js';

const SECRET = 'user=alice account=physics job=secret-protein-fold';
const enc = (s: string): Buffer => Buffer.from(s);
const dec = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

function dir(): string {
  return mkdtempSync(join(tmpdir(), `crypt-${process.pid}-`));
}

function fileConfig(keyring: string): EncryptionConfig {
  return { enabled: true, provider: 'file', file: { path: keyring } };
}

async function fileAtRest(keyring: string): Promise<AtRest> {
  return AtRest.create(fileConfig(keyring));
}

describe('AtRest with the file provider', () => {
  it('seals whole files: readable back, the plaintext is not in the bytes, each write has fresh nonces', async () => {
    const d = dir();
    const at = await fileAtRest(join(d, 'keyring.json'));
    const path = join(d, 'users.json');
    at.writeFile(path, 'hub/users', enc(SECRET));
    const first = readFileSync(path);
    expect(first.includes(enc('alice'))).toBe(false);
    expect(first.includes(enc('physics'))).toBe(false);
    expect(dec(at.readFile(path, 'hub/users')!)).toBe(SECRET);
    at.writeFile(path, 'hub/users', enc(SECRET));
    expect(readFileSync(path).subarray(PREFIX_BYTES).equals(first.subarray(PREFIX_BYTES))).toBe(false);
    // The keyring is created owner-only, and a second process (a fresh AtRest) reads the file.
    expect(readFileSync(join(d, 'keyring.json'), 'utf8')).toContain('"key_id"');
    expect(dec((await fileAtRest(join(d, 'keyring.json'))).readFile(path, 'hub/users')!)).toBe(SECRET);
    expect(at.readFile(join(d, 'absent'), 'hub/users')).toBeUndefined();
  });

  it('seals log records: reopened in order; appends after reopening continue the same file', async () => {
    const d = dir();
    const at = await fileAtRest(join(d, 'keyring.json'));
    const path = join(d, 'wal.log');
    const { log } = RecordLog.open(path, { sealing: at.sealing('hub/store/a/wal') });
    log.append(enc('one alice'), enc('two'));
    log.close();
    const again = RecordLog.open(path, { sealing: at.sealing('hub/store/a/wal') });
    expect(again.records.map(dec)).toEqual(['one alice', 'two']);
    again.log.append(enc('three'));
    again.log.close();
    const fresh = await fileAtRest(join(d, 'keyring.json'));
    expect(RecordLog.open(path, { sealing: fresh.sealing('hub/store/a/wal') }).records.map(dec)).toEqual(['one alice', 'two', 'three']);
    expect(readFileSync(path).includes(enc('alice'))).toBe(false);
  });

  it('detects a flipped bit in a record instead of returning altered data', async () => {
    const d = dir();
    const at = await fileAtRest(join(d, 'keyring.json'));
    const path = join(d, 'tokens.json');
    at.writeFile(path, 'hub/tokens', enc(SECRET));
    const data = readFileSync(path);
    // Flip a ciphertext bit and fix the CRC, as a deliberate change would.
    const { records } = readRecords(data, PREFIX_BYTES);
    const body = Buffer.from(records[0]);
    body[20] ^= 0x01;
    writeFileSync(path, Buffer.concat([data.subarray(0, PREFIX_BYTES), frame([body])]));
    expect(() => at.readFile(path, 'hub/tokens')).toThrow(TamperedDataError);
    expect(() => at.readFile(path, 'hub/tokens')).toThrow(/tokens\.json: record 0 fails authentication/);
  });

  it('detects swapped records, a record moved from another file, and a file read as another purpose', async () => {
    const d = dir();
    const at = await fileAtRest(join(d, 'keyring.json'));
    const a = join(d, 'a.log');
    const b = join(d, 'b.log');
    for (const [p, words] of [
      [a, ['a0', 'a1']],
      [b, ['b0', 'b1']],
    ] as const) {
      const { log } = RecordLog.open(p, { sealing: at.sealing('events') });
      log.append(...words.map(enc));
      log.close();
    }
    const aData = readFileSync(a);
    const aRecords = readRecords(aData, PREFIX_BYTES).records;
    // Reordered within the file.
    writeFileSync(a, Buffer.concat([aData.subarray(0, PREFIX_BYTES), frame([aRecords[1], aRecords[0]])]));
    expect(() => RecordLog.open(a, { sealing: at.sealing('events') })).toThrow(/record 0 fails authentication/);
    // A record of b put at the same position in a.
    const bRecords = readRecords(readFileSync(b), PREFIX_BYTES).records;
    writeFileSync(a, Buffer.concat([aData.subarray(0, PREFIX_BYTES), frame([aRecords[0], bRecords[1]])]));
    expect(() => RecordLog.open(a, { sealing: at.sealing('events') })).toThrow(/record 1 fails authentication/);
    // Nothing was cut off the file: a tampered log is refused, not "repaired".
    expect(readFileSync(a).length).toBe(PREFIX_BYTES + 8 * 2 + aRecords[0].length + bRecords[1].length);
    expect(() => RecordLog.open(b, { sealing: at.sealing('hub/audit') })).toThrow(/sealed as "events", expected "hub\/audit"/);
  });

  it('refuses a truncated whole file, and cuts only the torn tail of a log', async () => {
    const d = dir();
    const at = await fileAtRest(join(d, 'keyring.json'));
    const file = join(d, 'checkpoint.bin');
    at.writeFile(file, 'agent/spool/checkpoint', enc(SECRET));
    truncateSync(file, readFileSync(file).length - 5);
    expect(() => at.readFile(file, 'agent/spool/checkpoint')).toThrow(/truncated/);
    truncateSync(file, 100);
    expect(() => at.readFile(file, 'agent/spool/checkpoint')).toThrow(/truncated inside its header/);

    const log = join(d, 'deltas.log');
    const opened = RecordLog.open(log, { sealing: at.sealing('agent/spool/deltas') });
    opened.log.append(enc('kept'), enc('torn'));
    opened.log.close();
    truncateSync(log, readFileSync(log).length - 3);
    const again = RecordLog.open(log, { sealing: at.sealing('agent/spool/deltas') });
    expect(again.records.map(dec)).toEqual(['kept']);
    expect(again.truncatedBytes).toBeGreaterThan(0);
    again.log.append(enc('next'));
    again.log.close();
    expect(RecordLog.open(log, { sealing: at.sealing('agent/spool/deltas') }).records.map(dec)).toEqual(['kept', 'next']);
  });

  it('a wrong or missing key is a clear error naming the file and the key, never garbage', async () => {
    const d = dir();
    const at = await fileAtRest(join(d, 'keyring.json'));
    const path = join(d, 'tokens.json');
    at.writeFile(path, 'hub/tokens', enc(SECRET));
    const keyId = JSON.parse(readFileSync(join(d, 'keyring.json'), 'utf8')).key_id as string;

    // Another keyring: another key id.
    const other = await fileAtRest(join(dir(), 'keyring.json'));
    expect(() => other.readFile(path, 'hub/tokens')).toThrow(KeyUnavailableError);
    expect(() => other.readFile(path, 'hub/tokens')).toThrow(new RegExp(`tokens\\.json: sealed with file key ${keyId} v1, but the configured key is file key kr-`));
    await expect(other.preload(d)).rejects.toThrow(/tokens\.json: sealed with file key/);

    // Same key id, different key material (a keyring restored from the wrong backup).
    const ring = JSON.parse(readFileSync(join(d, 'keyring.json'), 'utf8'));
    ring.keys[0].key = Buffer.alloc(32, 7).toString('base64');
    const forged = join(dir(), 'keyring.json');
    writeFileSync(forged, JSON.stringify(ring), { mode: 0o600 });
    await expect(AtRest.create(fileConfig(forged)).then((x) => x.readFile(path, 'hub/tokens'))).rejects.toThrow(new RegExp(`file key ${keyId} v1 does not open the data key`));

    // A keyring without the version the file needs.
    ring.keys[0].version = 2;
    const newer = join(dir(), 'keyring.json');
    writeFileSync(newer, JSON.stringify(ring), { mode: 0o600 });
    await expect((await AtRest.create(fileConfig(newer))).preload(d)).rejects.toThrow(/tokens\.json: file key kr-[0-9a-f]+ has no version 1 \(it has v2\)/);

    // Encryption turned off: the sealed file is refused, named, with its key.
    expect(() => AtRest.plaintext().readFile(path, 'hub/tokens')).toThrow(new RegExp(`tokens\\.json is encrypted with file key ${keyId} v1: enable encryption`));
    expect(() => RecordLog.open(path)).toThrow(/is encrypted: enable encryption/);
  });

  it('refuses a keyring others can read, a malformed one, and a missing one where it must exist', async () => {
    const d = dir();
    const keyring = join(d, 'keyring.json');
    await expect(AtRest.create(fileConfig(keyring), { createKeyring: false })).rejects.toThrow(/keyring .*keyring\.json does not exist/);
    await fileAtRest(keyring);
    chmodSync(keyring, 0o644);
    await expect(fileAtRest(keyring)).rejects.toThrow(KeyConfigError);
    await expect(fileAtRest(keyring)).rejects.toThrow(/readable or writable by others \(mode 644\): chmod 600/);
    writeFileSync(keyring, '{"key_id":"k","keys":[{"version":1,"key":"c2hvcnQ="}]}', { mode: 0o600 });
    chmodSync(keyring, 0o600);
    await expect(fileAtRest(keyring)).rejects.toThrow(/keys\[0\] \(v1\): expected a base64 256-bit key \(32 bytes\), got 5 bytes/);
  });

  it('rotation adds a key version and re-wraps every header; old and new data stay readable', async () => {
    const d = dir();
    const keyring = join(d, 'keyring.json');
    const at = await fileAtRest(keyring);
    at.writeFile(join(d, 'tokens.json'), 'hub/tokens', enc('tokens'));
    const { log } = RecordLog.open(join(d, 'events', 'events.log'), { sealing: at.sealing('hub/events') });
    log.append(enc('before rotation'));
    const before = readFileSync(join(d, 'events', 'events.log')).subarray(PREFIX_BYTES);

    const result = await (await fileAtRest(keyring)).rotate([d]);
    expect(result).toMatchObject({ version: 2, created: true, failed: [] });
    expect(result.rewrapped.map((p) => p.slice(d.length + 1)).sort()).toEqual(['events/events.log', 'tokens.json']);
    expect(readPrefix(join(d, 'tokens.json'))?.header.key_version).toBe(2);
    // Bulk data untouched: only the header changed.
    expect(readFileSync(join(d, 'events', 'events.log')).subarray(PREFIX_BYTES).equals(before)).toBe(true);
    const ring = JSON.parse(readFileSync(keyring, 'utf8'));
    expect(ring.keys.map((k: { version: number }) => k.version)).toEqual([1, 2]);

    // The running writer keeps appending to the log whose header was swapped under it.
    log.append(enc('after rotation'));
    log.close();
    // New files of the running process pick up the new version (keyring reloaded on change).
    at.writeFile(join(d, 'new.bin'), 'x', enc('new'));
    expect(readPrefix(join(d, 'new.bin'))?.header.key_version).toBe(2);

    const fresh = await fileAtRest(keyring);
    await fresh.preload(d);
    expect(dec(fresh.readFile(join(d, 'tokens.json'), 'hub/tokens')!)).toBe('tokens');
    expect(RecordLog.open(join(d, 'events', 'events.log'), { sealing: fresh.sealing('hub/events') }).records.map(dec)).toEqual(['before rotation', 'after rotation']);
    // A second rotation: v3, every sealed file (new.bin too) moves to it.
    const second = await fresh.rotate([d]);
    expect(second.version).toBe(3);
    expect(second.rewrapped.length).toBe(3);
    expect(dec((await fileAtRest(keyring)).readFile(join(d, 'tokens.json'), 'hub/tokens')!)).toBe('tokens');
  });

  it('a header rewrite never lands on a file replaced meanwhile (a checkpoint rewritten during rotation)', async () => {
    const d = dir();
    const at = await fileAtRest(join(d, 'keyring.json'));
    const path = join(d, 'checkpoint.bin');
    at.writeFile(path, 'cp', enc('old'));
    await rewriteHeader(path, async (h) => {
      at.writeFile(path, 'cp', enc('new')); // the running process replaces the file (rename)
      return { ...h, key_version: 99 };
    });
    expect(readPrefix(path)?.header.key_version).toBe(1);
    expect(dec((await fileAtRest(join(d, 'keyring.json'))).readFile(path, 'cp')!)).toBe('new');
  });

  it('plaintext files from before encryption stay readable; logs are sealed on open, files on the next write', async () => {
    const d = dir();
    const logPath = join(d, 'wal.log');
    const plainLog = RecordLog.open(logPath);
    plainLog.log.append(enc('old alice'), enc('old bob'));
    plainLog.log.close();
    const filePath = join(d, 'tokens.json');
    writeFileSync(filePath, SECRET);

    const at = await fileAtRest(join(d, 'keyring.json'));
    expect(dec(at.readFile(filePath, 'hub/tokens')!)).toBe(SECRET);
    const opened = RecordLog.open(logPath, { sealing: at.sealing('wal') });
    expect(opened.records.map(dec)).toEqual(['old alice', 'old bob']);
    opened.log.append(enc('new carol'));
    opened.log.close();
    expect(readPrefix(logPath)).toBeDefined();
    expect(readFileSync(logPath).includes(enc('alice'))).toBe(false);
    expect(RecordLog.open(logPath, { sealing: at.sealing('wal') }).records.map(dec)).toEqual(['old alice', 'old bob', 'new carol']);
    at.writeFile(filePath, 'hub/tokens', enc(SECRET));
    expect(readFileSync(filePath).includes(enc('alice'))).toBe(false);
    expect(readdirSync(d).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});

describe('AtRest with the env provider', () => {
  const k1 = Buffer.alloc(32, 1).toString('base64');
  const k2 = Buffer.alloc(32, 2).toString('base64');

  it('takes one key, a JSON map of versions, or <VAR>_V<n> variables; the newest wraps new data', async () => {
    const d = dir();
    const cfg: EncryptionConfig = { enabled: true, provider: 'env', env: { var: 'SF_KEY' } };
    const v1 = await AtRest.create(cfg, { env: { SF_KEY: k1 } });
    v1.writeFile(join(d, 'a'), 'p', enc('one'));
    const both = await AtRest.create(cfg, { env: { SF_KEY: JSON.stringify({ 1: k1, 2: k2 }) } });
    expect(dec(both.readFile(join(d, 'a'), 'p')!)).toBe('one');
    both.writeFile(join(d, 'b'), 'p', enc('two'));
    expect(readPrefix(join(d, 'b'))?.header).toMatchObject({ provider: 'env', key_id: 'SF_KEY', key_version: 2 });
    const split = await AtRest.create(cfg, { env: { SF_KEY_V1: k1, SF_KEY_V2: k2 } });
    // rotate: nothing to create, every header moves to v2.
    const r = await split.rotate([d]);
    expect(r).toMatchObject({ version: 2, created: false, failed: [] });
    expect(readPrefix(join(d, 'a'))?.header.key_version).toBe(2);
    const onlyV2 = await AtRest.create(cfg, { env: { SF_KEY_V2: k2 } });
    expect(dec(onlyV2.readFile(join(d, 'a'), 'p')!)).toBe('one');
  });

  it('names the variable, never its value, when it is missing or malformed', async () => {
    const cfg: EncryptionConfig = { enabled: true, provider: 'env', env: { var: 'SF_KEY' } };
    await expect(AtRest.create(cfg, { env: {} })).rejects.toThrow(/environment variable SF_KEY \(or SF_KEY_V1, _V2\.\.\.\) is not set/);
    const err = await AtRest.create(cfg, { env: { SF_KEY: 'bm90LWEta2V5LXNlY3JldA==' } }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/environment variable SF_KEY: expected a base64 256-bit key/);
    expect((err as Error).message).not.toContain('bm90LWEta2V5LXNlY3JldA');
  });
});

describe('AtRest.plaintext (encryption off)', () => {
  it('reads and writes plain files as before', () => {
    const d = dir();
    const at = AtRest.plaintext();
    at.writeFile(join(d, 'f'), 'p', enc('plain'));
    expect(readFileSync(join(d, 'f'), 'utf8')).toBe('plain');
    expect(dec(at.readFile(join(d, 'f'), 'p')!)).toBe('plain');
    expect(at.sealing('p')).toBeUndefined();
    expect(existsSync(join(d, 'g'))).toBe(false);
  });
});
