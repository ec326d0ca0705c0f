import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'otplib';
import { describe, expect, it } from 'vitest';
import { MemoryDedupeStore } from '../../replication/index.js';
import { hashPassword, verifyPassword } from './password-hash.js';
import { newTotpSecret, TotpVerifier, totpUri } from './totp.js';
import { LocalUserStore } from './user-store.js';

const CHEAP = { N: 1024, r: 8, p: 1 };

describe('scrypt password hashes', () => {
  it('store their parameters and verify only the right password', async () => {
    const h = await hashPassword('correct horse battery', CHEAP);
    expect(h).toMatch(/^scrypt\$1024\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(await verifyPassword('correct horse battery', h)).toBe(true);
    expect(await verifyPassword('correct horse batterY', h)).toBe(false);
    // Same password, new salt: a different hash.
    expect(await hashPassword('correct horse battery', CHEAP)).not.toBe(h);
    expect(await verifyPassword('x', 'md5$abc')).toBe(false);
    expect(await verifyPassword('x', 'scrypt$99999999$8$1$aa$bb')).toBe(false);
  });
});

describe('local users (data_dir/users.json)', () => {
  it('keeps hashes in a 0600 file, never lists secrets, refuses short passwords and duplicates', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'users-'));
    const store = new LocalUserStore(dir, CHEAP);
    await store.add('breakglass', { password: 'a long enough password', groups: ['hpc-admins'] });
    expect(statSync(store.path).mode & 0o777).toBe(0o600);
    expect(readFileSync(store.path, 'utf8')).not.toContain('a long enough password');
    expect(store.list()).toEqual([expect.objectContaining({ name: 'breakglass', password: true, totp: false, groups: ['hpc-admins'] })]);
    expect(JSON.stringify(store.list())).not.toContain('scrypt$');
    expect((await store.verify('breakglass', 'a long enough password'))?.name).toBe('breakglass');
    expect(await store.verify('breakglass', 'wrong password here')).toBeUndefined();
    expect(await store.verify('nobody', 'a long enough password')).toBeUndefined();
    await expect(store.add('breakglass', { password: 'a long enough password' })).rejects.toThrow(/exists/);
    await expect(store.add('shorty', { password: 'short' })).rejects.toThrow(/at least 12/);
    await expect(store.add('bad name!', { password: 'a long enough password' })).rejects.toThrow(/invalid user name/);
    // Another process (the CLI) changes the file: the hub sees it.
    await new LocalUserStore(dir, CHEAP).update('breakglass', { password: 'another long password' });
    expect(await store.verify('breakglass', 'a long enough password')).toBeUndefined();
    expect(await store.verify('breakglass', 'another long password')).toBeDefined();
    expect(store.remove('breakglass')).toBe(true);
    expect(store.list()).toEqual([]);
  });
});

describe('TOTP', () => {
  it('accepts the current code once, refuses it replayed and refuses wrong codes', async () => {
    const secret = newTotpSecret();
    expect(totpUri(secret, 'alice', 'sfleet')).toMatch(/^otpauth:\/\/totp\/sfleet:alice\?secret=[A-Z2-7]+/);
    const totp = new TotpVerifier(new MemoryDedupeStore(), 1);
    const code = await generate({ secret });
    await totp.check('alice', secret, code);
    await expect(totp.check('alice', secret, code)).rejects.toMatchObject({ code: 'SF_AUTH_TOTP_REPLAYED', httpStatus: 401 });
    const wrong = code === '000000' ? '111111' : '000000';
    await expect(totp.check('alice', secret, wrong)).rejects.toMatchObject({ code: 'SF_AUTH_TOTP_INVALID' });
    await expect(totp.check('alice', secret, '12ab56')).rejects.toMatchObject({ code: 'SF_AUTH_TOTP_INVALID' });
    // Another user's code of the same step is theirs to use.
    const other = newTotpSecret();
    await totp.check('bob', other, await generate({ secret: other }));
  });
});
