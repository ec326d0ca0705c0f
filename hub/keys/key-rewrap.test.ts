import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock/index.js';
import { AtRest, readPrefix } from '../../shared/crypto/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import type { AuditEvent } from '../audit/record.js';
import { KeyRewrap } from './index.js';

/** One hub: its own data dir with two sealed files, reading the keyring at `keyring`. */
async function hub(keyring: string, group: { version?: number }) {
  const dir = mkdtempSync(join(tmpdir(), `rewrap-${process.pid}-`));
  const atRest = await AtRest.create({ enabled: true, provider: 'file', file: { path: keyring } });
  mkdirSync(join(dir, 'store'));
  const files = [join(dir, 'users.json'), join(dir, 'store', 'tokens.json')];
  atRest.writeFile(files[0]!, 'hub/users', Buffer.from('{"alice":{}}'));
  atRest.writeFile(files[1]!, 'hub/tokens', Buffer.from('{"t1":{}}'));
  const audit: AuditEvent[] = [];
  const rewrap = new KeyRewrap(
    { atRest, roots: [dir], dataDir: dir, hubId: 'h2', groupVersion: async () => group.version, clock: new ManualClock(), audit: { record: async (e) => void audit.push(e) as never }, logger: silentLogger() },
    { checkMs: 1_000 },
  );
  return { dir, atRest, files, audit, rewrap, versions: () => files.map((f) => readPrefix(f)?.header.key_version) };
}

describe('KeyRewrap (a hub following the group key version)', () => {
  it('re-wraps its own files to the version the leader rotated to, audits once with the count, then stays current', async () => {
    const keyring = join(mkdtempSync(join(tmpdir(), `ring-${process.pid}-`)), 'keyring.json');
    const group: { version?: number } = {};
    const h = await hub(keyring, group);
    // A file sealed by another key (a backup with its own keyring) is neither moved nor counted.
    const other = await AtRest.create({ enabled: true, provider: 'file', file: { path: join(h.dir, 'backup-keyring.json') } });
    other.writeFile(join(h.dir, 'backup.bin'), 'backup', Buffer.from('b'));
    await other.rotate([]);
    await other.rotate([h.dir]);
    expect(readPrefix(join(h.dir, 'backup.bin'))?.header.key_version).toBe(3);
    const backupHeader = readFileSync(join(h.dir, 'backup.bin')).subarray(0, 2056);
    expect(await h.rewrap.check()).toBe('idle');
    expect(h.rewrap.versions()).toEqual({ oldest_in_use: 1, sealing: 1 });
    // The leader (another AtRest on the shared keyring) rotates.
    const leader = await AtRest.create({ enabled: true, provider: 'file', file: { path: keyring } });
    await leader.rotate([]);
    group.version = 2;
    expect(h.versions()).toEqual([1, 1]);
    expect(await h.rewrap.check()).toBe('rewrapped');
    expect(h.versions()).toEqual([2, 2]);
    expect(h.atRest.readFile(h.files[0]!, 'hub/users')?.toString()).toBe('{"alice":{}}');
    expect(h.audit).toEqual([expect.objectContaining({ action: 'keys:rewrap', outcome: 'success', resource: expect.stringMatching(/ v2: 2 file\(s\) re-wrapped$/), transport: 'internal', required: true })]);
    expect(h.rewrap.versions()).toEqual({ group: 2, hub: 2, oldest_in_use: 2, sealing: 2 });
    expect(readFileSync(join(h.dir, 'backup.bin')).subarray(0, 2056).equals(backupHeader)).toBe(true);
    expect(await h.rewrap.check()).toBe('current');
    expect(h.audit).toHaveLength(1);
    // The metric shows the same, by label.
    const registry = new Registry();
    h.rewrap.registerMetrics(registry);
    const text = await registry.metrics();
    expect(text).toContain('sfleet_hub_key_version{of="group"} 2');
    expect(text).toContain('sfleet_hub_key_version{of="oldest_in_use"} 2');
    // A restarted hub remembers it followed (its data dir), and does not audit again.
    const again = new KeyRewrap({ atRest: h.atRest, roots: [h.dir], dataDir: h.dir, hubId: 'h2', groupVersion: async () => 2, clock: new ManualClock(), audit: { record: async (e) => void h.audit.push(e) as never }, logger: silentLogger() }, { checkMs: 1_000 });
    expect(await again.check()).toBe('current');
    expect(JSON.parse(readFileSync(join(h.dir, 'key-rewrap.json'), 'utf8'))).toMatchObject({ version: 2, hub_id: 'h2' });
  });

  it('a keyring copy that lacks the version: refused, nothing touched, audited once, and re-wrapped once the keyring has it', async () => {
    const ringDir = mkdtempSync(join(tmpdir(), `ring-${process.pid}-`));
    const shared = join(ringDir, 'keyring.json');
    const copy = join(ringDir, 'copy.json');
    await AtRest.create({ enabled: true, provider: 'file', file: { path: shared } });
    copyFileSync(shared, copy);
    chmodSync(copy, 0o600);
    const group: { version?: number } = {};
    const h = await hub(copy, group);
    await (await AtRest.create({ enabled: true, provider: 'file', file: { path: shared } })).rotate([]);
    group.version = 2;
    expect(await h.rewrap.check()).toBe('failed');
    expect(await h.rewrap.check()).toBe('failed');
    expect(h.versions()).toEqual([1, 1]);
    expect(h.atRest.readFile(h.files[1]!, 'hub/tokens')?.toString()).toBe('{"t1":{}}');
    expect(h.audit).toEqual([expect.objectContaining({ action: 'keys:rewrap', outcome: 'error', reason: expect.stringMatching(/has no version 2 \(its newest is v1\)/) })]);
    expect(h.rewrap.versions()).toMatchObject({ group: 2, oldest_in_use: 1, sealing: 1, error: expect.stringMatching(/no version 2/) });
    expect(h.rewrap.versions().hub).toBeUndefined();
    // The operator puts the group's keyring in place (e.g. the shared mount): the next check follows.
    copyFileSync(shared, copy);
    expect(await h.rewrap.check()).toBe('rewrapped');
    expect(h.versions()).toEqual([2, 2]);
    expect(h.audit.map((e) => e.outcome)).toEqual(['error', 'success']);
    expect(h.rewrap.versions().error).toBeUndefined();
  });

  it('the group version cannot be read (etcd down): nothing happens, the next check asks again', async () => {
    const keyring = join(mkdtempSync(join(tmpdir(), `ring-${process.pid}-`)), 'keyring.json');
    const h = await hub(keyring, {});
    let down = true;
    const rewrap = new KeyRewrap(
      {
        atRest: h.atRest,
        roots: [h.dir],
        dataDir: h.dir,
        hubId: 'h2',
        groupVersion: async () => {
          if (down) throw new Error('etcd: connection refused');
          return 2;
        },
        clock: new ManualClock(),
        audit: { record: async (e) => void h.audit.push(e) as never },
        logger: silentLogger(),
      },
      { checkMs: 1_000 },
    );
    expect(await rewrap.check()).toBe('idle');
    await h.atRest.rotate([]);
    // rotate([]) moved no file: this hub's files are still at v1.
    expect(h.versions()).toEqual([1, 1]);
    down = false;
    expect(await rewrap.check()).toBe('rewrapped');
    expect(h.versions()).toEqual([2, 2]);
  });
});
