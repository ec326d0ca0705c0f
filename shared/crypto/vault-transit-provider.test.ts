import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RecordLog } from '../record-log/index.js';
import { initCa, issueCertificate } from '../tls/index.js';
import { AtRest } from './at-rest.js';
import type { EncryptionConfig } from './config.js';
import { readPrefix } from './envelope.js';
import { KeyServiceError } from './errors.js';
import { VaultTransitProvider } from './vault-transit-provider.js';
import { VaultTransitFake } from './testdata/vault-transit-fake.js';

const TOKEN = 'hvs.test-token-do-not-log';
let vault: VaultTransitFake;
let tokenFile: string;

function config(over: Partial<NonNullable<EncryptionConfig['vault']>> = {}): EncryptionConfig {
  return {
    enabled: true,
    provider: 'vault',
    vault: { address: vault.address, mount: 'transit', key_name: 'sfleet', token_file: tokenFile, namespace: 'ops', timeout: 2_000, retries: 2, ...over },
  };
}

function dir(): string {
  return mkdtempSync(join(tmpdir(), `crypt-vault-${process.pid}-`));
}

beforeAll(async () => {
  vault = await VaultTransitFake.start({ token: TOKEN, namespace: 'ops' });
  tokenFile = join(dir(), 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
});
afterAll(() => vault.close());
beforeEach(() => {
  vault.requests.length = 0;
  vault.failNext = 0;
  vault.hang = false;
});

describe('the vault provider against a transit fake', () => {
  it('wraps data keys with transit encrypt, sending the token, namespace and a base64 JSON body', async () => {
    const at = await AtRest.create(config());
    expect(vault.requests).toHaveLength(1);
    const [req] = vault.requests;
    expect(req).toMatchObject({ method: 'POST', path: '/v1/transit/encrypt/sfleet' });
    expect(req.headers['x-vault-token']).toBe(TOKEN);
    expect(req.headers['x-vault-namespace']).toBe('ops');
    expect(req.headers['content-type']).toBe('application/json');
    expect(Buffer.from(String(req.body.plaintext), 'base64')).toHaveLength(32);
    const d = dir();
    at.writeFile(join(d, 'tokens.json'), 'hub/tokens', Buffer.from('secret tokens'));
    expect(readPrefix(join(d, 'tokens.json'))?.header).toMatchObject({ provider: 'vault', key_id: 'transit/sfleet', key_version: 1 });
    expect(readPrefix(join(d, 'tokens.json'))?.header.wrapped).toMatch(/^vault:v1:/);
  });

  it('unwraps once per data key at preload; records are sealed and opened without calling Vault', async () => {
    const d = dir();
    const writer = await AtRest.create(config());
    const { log } = RecordLog.open(join(d, 'wal.log'), { sealing: writer.sealing('wal') });
    for (let i = 0; i < 50; i++) log.append(Buffer.from(`delta ${i}`));
    log.close();
    writer.writeFile(join(d, 'checkpoint.bin'), 'cp', Buffer.from('checkpoint'));

    vault.requests.length = 0;
    const reader = await AtRest.create(config());
    const loaded = await reader.preload(d);
    const decrypts = vault.requests.filter((r) => r.path === '/v1/transit/decrypt/sfleet');
    expect(loaded.files).toBe(2);
    expect(decrypts.length).toBe(loaded.keys);
    const before = vault.requests.length;
    const again = RecordLog.open(join(d, 'wal.log'), { sealing: reader.sealing('wal') });
    expect(again.records).toHaveLength(50);
    for (let i = 0; i < 50; i++) again.log.append(Buffer.from(`more ${i}`));
    again.log.close();
    expect(reader.readFile(join(d, 'checkpoint.bin'), 'cp')?.toString()).toBe('checkpoint');
    expect(vault.requests.length).toBe(before);
  });

  it('rotate calls transit keys/<key>/rotate and rewraps every header to the new version; old data stays readable', async () => {
    const d = dir();
    const at = await AtRest.create(config());
    at.writeFile(join(d, 'a'), 'p', Buffer.from('first'));
    const result = await at.rotate([d]);
    expect(vault.requests.some((r) => r.path === '/v1/transit/keys/sfleet/rotate' && r.method === 'POST')).toBe(true);
    expect(vault.requests.filter((r) => r.path === '/v1/transit/rewrap/sfleet')).toHaveLength(1);
    expect(result).toMatchObject({ version: 2, failed: [] });
    expect(readPrefix(join(d, 'a'))?.header.wrapped).toMatch(/^vault:v2:/);
    const fresh = await AtRest.create(config());
    await fresh.preload(d);
    expect(fresh.readFile(join(d, 'a'), 'p')?.toString()).toBe('first');
  });

  it('a hub following a rotation another hub made: its files move to the new version, and so does its next new file (the spare)', async () => {
    const d = dir();
    const follower = await AtRest.create(config());
    follower.writeFile(join(d, 'users.json'), 'hub/users', Buffer.from('users'));
    const leader = await AtRest.create(config());
    const { version } = await leader.rotate([]);
    expect(version).toBeGreaterThan(readPrefix(join(d, 'users.json'))!.header.key_version);
    const result = await follower.rewrapTo([d], version);
    expect(result).toMatchObject({ rewrapped: [join(d, 'users.json')], failed: [] });
    expect(readPrefix(join(d, 'users.json'))?.header.key_version).toBe(version);
    // The spare prepared before the rotation was replaced: a new file is sealed under the new version too.
    follower.writeFile(join(d, 'sessions.json'), 'hub/sessions', Buffer.from('sessions'));
    expect(readPrefix(join(d, 'sessions.json'))?.header.key_version).toBe(version);
    expect(follower.oldestVersion([d])).toBe(version);
    expect(follower.readFile(join(d, 'users.json'), 'hub/users')?.toString()).toBe('users');
  });

  it('a file another process sealed after our preload is loaded in the background, then read', async () => {
    const d = dir();
    const running = await AtRest.create(config());
    const cli = await AtRest.create(config());
    cli.writeFile(join(d, 'tokens.json'), 'hub/tokens', Buffer.from('{"tokens":[]}'));
    expect(() => running.readFile(join(d, 'tokens.json'), 'hub/tokens')).toThrow(/tokens\.json: data key [0-9a-f]{8} \(vault key transit\/sfleet v\d+\) is being loaded; try again/);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(running.readFile(join(d, 'tokens.json'), 'hub/tokens')?.toString()).toBe('{"tokens":[]}');
  });

  it('refuses a wrong token with a clear error that does not contain the token', async () => {
    const bad = join(dir(), 'token');
    writeFileSync(bad, 'hvs.wrong-token');
    const err = await AtRest.create(config({ token_file: bad })).catch((e: Error) => e);
    expect(err).toBeInstanceOf(KeyServiceError);
    expect((err as Error).message).toMatch(/vault http:\/\/127\.0\.0\.1:\d+ encrypt: 403 permission denied \(check the token/);
    expect((err as Error).message).not.toContain('wrong-token');
    // Not retried: a refusal stays a refusal.
    expect(vault.requests.filter((r) => r.headers['x-vault-token'] === 'hvs.wrong-token')).toHaveLength(1);
    // The fake is as strict as Vault without a token at all.
    const res = await fetch(`${vault.address}/v1/transit/encrypt/sfleet`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(401);
  });

  it('gets 400 for a malformed ciphertext, without retrying', async () => {
    const provider = new VaultTransitProvider(config().vault!);
    const err = await provider.unwrap({ provider: 'vault', key_id: 'transit/sfleet', key_version: 1, wrapped: 'vault:v1:%%%not-base64' }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(KeyServiceError);
    expect((err as KeyServiceError).status).toBe(400);
    expect((err as Error).message).toMatch(/decrypt: 400 invalid ciphertext: could not decode base64/);
    expect(vault.requests).toHaveLength(1);
  });

  it('retries a sealed (503) Vault and succeeds when it answers again', async () => {
    vault.failNext = 2;
    const at = await AtRest.create(config({ retries: 2 }));
    expect(at.enabled).toBe(true);
    expect(vault.requests).toHaveLength(3);
  });

  it('fails the start with a clear error when Vault is unreachable or does not answer in time', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    await expect(AtRest.create(config({ address: `http://127.0.0.1:${port}`, retries: 1 }))).rejects.toThrow(/vault http:\/\/127\.0\.0\.1:\d+ encrypt: .*ECONNREFUSED/);
    vault.hang = true;
    const err = await AtRest.create(config({ timeout: 200, retries: 1 })).catch((e: Error) => e);
    expect(err).toBeInstanceOf(KeyServiceError);
    expect((err as Error).message).toMatch(/no answer within 200ms/);
    expect(vault.requests).toHaveLength(2);
  });

  it('talks HTTPS with the configured ca_file, and refuses a server its CA did not sign', async () => {
    const pki = dir();
    await initCa(pki, { trustDomain: 'vault.test' });
    const issued = await issueCertificate(pki, { role: 'hub', name: 'vault' });
    const tlsVault = await VaultTransitFake.start({ token: TOKEN, tls: { cert: readFileSync(issued.cert), key: readFileSync(issued.key) } });
    try {
      const at = await AtRest.create(config({ address: tlsVault.address, namespace: undefined, ca_file: join(pki, 'ca.pem') }));
      expect(at.enabled).toBe(true);
      expect(tlsVault.requests.map((r) => r.path)).toEqual(['/v1/transit/encrypt/sfleet']);
      const otherCa = dir();
      await initCa(otherCa, { trustDomain: 'other.test' });
      await expect(AtRest.create(config({ address: tlsVault.address, namespace: undefined, ca_file: join(otherCa, 'ca.pem'), retries: 0 }))).rejects.toThrow(/vault https:\/\/127\.0\.0\.1:\d+ encrypt: .*(certificate|self.signed)/i);
      await expect(AtRest.create(config({ address: tlsVault.address, ca_file: join(otherCa, 'missing.pem') }))).rejects.toThrow(/vault ca_file .*missing\.pem: ENOENT/);
    } finally {
      await tlsVault.close();
    }
  });

  it('names the missing token variable', async () => {
    await expect(AtRest.create(config({ token_file: undefined, token_env: 'SF_VAULT_TOKEN' }), { env: {} })).rejects.toThrow(/environment variable SF_VAULT_TOKEN is not set/);
    const at = await AtRest.create(config({ token_file: undefined, token_env: 'SF_VAULT_TOKEN' }), { env: { SF_VAULT_TOKEN: TOKEN } });
    expect(at.describe()).toBe('vault key transit/sfleet');
  });
});
