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
});
