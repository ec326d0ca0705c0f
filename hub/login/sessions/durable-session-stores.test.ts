import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemorySharedKvStore } from '../../replication/index.js';
import type { Principal } from '../../policy/index.js';
import { FileSessionStore, SharedSessionStore } from './durable-session-stores.js';

const alice: Principal = { name: 'alice', method: 'ldap', role: 'user', groups: ['hpc-admins'], attributes: { project: 'proj-a' } };

describe('file session store', () => {
  it('survives a restart (a new instance on the same data_dir), keeps only hashes, expires and revokes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sessions-'));
    let now = 1_000;
    const a = new FileSessionStore(dir, () => now);
    const token = await a.create(alice, 60_000);
    const short = await a.create({ ...alice, name: 'bob' }, 1_000);
    expect(token).toMatch(/^sfs_/);
    const text = readFileSync(a.path, 'utf8');
    expect(text).not.toContain(token);
    expect(text).not.toContain(token.slice(4));
    expect(statSync(a.path).mode & 0o777).toBe(0o600);
    const b = new FileSessionStore(dir, () => now);
    expect(await b.get(token)).toEqual({ ...alice, expiresAt: 61_000 });
    now += 2_000;
    expect(await b.get(short)).toBeUndefined();
    await b.revoke(token);
    expect(await new FileSessionStore(dir, () => now).get(token)).toBeUndefined();
  });
});

describe('shared session store', () => {
  it('is usable from another store over the same key-value store (another hub)', async () => {
    const kv = new MemorySharedKvStore();
    const token = await new SharedSessionStore(kv).create(alice, 60_000);
    expect(await new SharedSessionStore(kv).get(token)).toEqual({ ...alice, expiresAt: expect.any(Number) });
    await new SharedSessionStore(kv).revoke(token);
    expect(await new SharedSessionStore(kv).get(token)).toBeUndefined();
  });

  it('a rotated secret never brings back a revoked session, and a stale rotation keeps the newer secret', async () => {
    const kv = new MemorySharedKvStore();
    const [a, b] = [new SharedSessionStore(kv), new SharedSessionStore(kv)];
    const token = await a.create(alice, 60_000, 'rt-0');
    await b.setSecret(token, 'rt-1', 'rt-0');
    // Hub A spent rt-0 too and got another: B's newer one stays.
    await a.setSecret(token, 'rt-1-from-a', 'rt-0');
    expect(await a.secret(token)).toBe('rt-1');
    await b.revoke(token);
    await a.setSecret(token, 'rt-2', 'rt-1');
    expect(await a.get(token)).toBeUndefined();
    expect(await b.secret(token)).toBeUndefined();
  });

  it('answers 503 (not a crash, not a 500) when the shared store fails', async () => {
    const fail = () => Promise.reject(new Error('x'));
    const broken = { get: () => Promise.reject(new Error('Connection is closed.')), set: fail, delete: fail, touch: fail, modify: fail };
    await expect(new SharedSessionStore(broken).get('sfs_x')).rejects.toMatchObject({ httpStatus: 503, code: 'SF_AUTH_SESSIONS_UNAVAILABLE' });
  });
});
