import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/logging/index.js';
import { initCa, issueCertificate, loadTls, revocationPath, revocationText, revokeCertificate } from '../../shared/tls/index.js';
import { CredentialWatcher } from './credential-watcher.js';
import { RevocationWatcher } from './revocation-watcher.js';

const until = async (what: string, fn: () => boolean): Promise<void> => {
  const deadline = Date.now() + 10_000;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('hub TLS watchers', () => {
  it('installs a replaced certificate once, and refuses an expired one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ca-'));
    await initCa(dir, { trustDomain: 'unit.fleet' });
    const first = await issueCertificate(dir, { role: 'hub', name: 'h1' });
    const live = mkdtempSync(join(tmpdir(), 'live-'));
    const files = { ca: join(dir, 'ca.pem'), cert: join(live, 'cert.pem'), key: join(live, 'key.pem') };
    copyFileSync(first.cert, files.cert);
    copyFileSync(first.key, files.key);
    const applied: string[] = [];
    const watcher = new CredentialWatcher(files, loadTls(files, 'hub'), { logger: silentLogger(), apply: (m) => applied.push(m.cert.toString()) }, { debounceMs: 50, pollMs: 100 });
    watcher.start();
    try {
      const second = await issueCertificate(dir, { role: 'hub', name: 'h2' });
      copyFileSync(second.key, files.key);
      copyFileSync(second.cert, files.cert);
      await until('the reload', () => applied.length === 1);
      expect(applied[0]).toBe(readFileSync(second.cert, 'utf8'));
      expect(watcher.reload()).toBe(false); // same files: nothing to do

      const expired = await issueCertificate(dir, { role: 'hub', name: 'h3', lifetimeMs: 1_000 });
      await new Promise((r) => setTimeout(r, 1_100));
      copyFileSync(expired.key, files.key);
      copyFileSync(expired.cert, files.cert);
      await until('the refusal', () => watcher.stats.refused > 0);
      expect(applied).toHaveLength(1);
    } finally {
      watcher.close();
    }
  });

  it('reloads the revocation list and keeps the old one when the new file is broken', async () => {
    const path = revocationPath(mkdtempSync(join(tmpdir(), 'data-')));
    const watcher = new RevocationWatcher(path, { logger: silentLogger() }, { debounceMs: 50, pollMs: 100 });
    let changes = 0;
    watcher.onChange(() => changes++);
    watcher.start();
    try {
      revokeCertificate(path, { serial: '0A1B', reason: 'test' });
      await until('the new list', () => watcher.revoked('a1b') !== undefined);
      expect(watcher.revoked('0a1b')).toMatchObject({ serial: 'a1b', reason: 'test' });
      expect(revocationText(watcher.revoked('0a1b')!)).toMatch(/^certificate a1b was revoked at .* \(test\)$/);
      const seen = changes;
      writeFileSync(path, '{broken');
      await new Promise((r) => setTimeout(r, 400));
      expect(changes).toBe(seen);
      expect(watcher.revoked('a1b')).toBeDefined();
    } finally {
      watcher.close();
    }
    writeFileSync(path, '{broken');
    expect(() => new RevocationWatcher(path, { logger: silentLogger() })).toThrow(/revoked\.json: not JSON/);
  });
});
