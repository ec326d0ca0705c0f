import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AtRest, readPrefix } from '../../shared/crypto/index.js';
import { LocalUserStore } from './local/user-store.js';
import { FileSessionStore } from './sessions/index.js';

const FAST_SCRYPT = { N: 1024, r: 8, p: 1 };

describe('login data with encryption at rest', () => {
  it('seals users.json (password hashes, TOTP secrets) and sessions.json; both read back after a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), `login-enc-${process.pid}-`));
    const atRest = await AtRest.create({ enabled: true, provider: 'file', file: { path: join(dataDir, '..', `kr-id-${process.pid}-${Date.now()}.json`) } });
    const users = new LocalUserStore(dataDir, FAST_SCRYPT, atRest);
    const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
    await users.add('breakglass', { password: 'correct horse battery staple', totpSecret: secret, groups: ['hpc-admins'] });
    const sessions = new FileSessionStore(dataDir, Date.now, atRest);
    const token = await sessions.create({ name: 'breakglass', method: 'local', role: 'user', groups: ['hpc-admins'], attributes: { project: 'p-astro' } }, 60_000);

    for (const [file, purpose] of [['users.json', 'hub/users'], ['sessions.json', 'hub/sessions']] as const) {
      const bytes = readFileSync(join(dataDir, file));
      expect(readPrefix(join(dataDir, file))?.header.purpose).toBe(purpose);
      for (const word of ['breakglass', 'hpc-admins', secret, 'p-astro', 'scrypt']) expect(bytes.includes(Buffer.from(word)), `${word} in ${file}`).toBe(false);
    }
    // A restarted hub (new stores, same key) sees the user and the session.
    expect(new LocalUserStore(dataDir, FAST_SCRYPT, atRest).get('breakglass')?.groups).toEqual(['hpc-admins']);
    expect((await new FileSessionStore(dataDir, Date.now, atRest).get(token))?.attributes).toEqual({ project: 'p-astro' });
    // Without the key the sealed file is refused, never read as garbage.
    expect(() => new LocalUserStore(dataDir, FAST_SCRYPT).get('breakglass')).toThrow(/users\.json/);
  });

  it('seals the refresh token kept with an OIDC session: in sessions.json and in the shared store', async () => {
    const { MemorySharedKvStore } = await import('../replication/index.js');
    const { SharedSessionStore } = await import('./sessions/index.js');
    const dataDir = mkdtempSync(join(tmpdir(), `login-enc-rt-${process.pid}-`));
    const atRest = await AtRest.create({ enabled: true, provider: 'file', file: { path: join(dataDir, '..', `kr-rt-${process.pid}-${Date.now()}.json`) } });
    const refresh = 'rt-0123456789-the-refresh-token-of-carol';
    const carol = { name: 'carol', method: 'oidc' as const, role: 'user' as const, groups: [], attributes: {} };
    const file = new FileSessionStore(dataDir, Date.now, atRest);
    const token = await file.create(carol, 60_000, refresh);
    await file.setSecret(token, `${refresh}-rotated`);
    expect(readFileSync(join(dataDir, 'sessions.json')).includes(Buffer.from('rt-0123456789'))).toBe(false);
    expect(await new FileSessionStore(dataDir, Date.now, atRest).secret(token)).toBe(`${refresh}-rotated`);

    const kv = new MemorySharedKvStore();
    const shared = new SharedSessionStore(kv, atRest);
    const other = await shared.create(carol, 60_000, refresh);
    await shared.setSecret(other, `${refresh}-rotated`);
    const raw = JSON.stringify(await kv.get(createHash('sha256').update(other).digest('hex')));
    expect(raw).toContain('carol');
    expect(raw).not.toContain('rt-0123456789');
    // Another hub of the group, with the same key, reads it back.
    expect(await new SharedSessionStore(kv, atRest).secret(other)).toBe(`${refresh}-rotated`);
    expect(await new SharedSessionStore(kv, atRest).get(other)).toEqual({ ...carol, expiresAt: expect.any(Number) });
  });
});
