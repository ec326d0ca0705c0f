import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Authenticator } from './authenticate.js';
import { TokenStore } from './token-store.js';

describe('tokens', () => {
  it('stores only a hash, verifies the token, and honours revocation and expiry', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tok-'));
    const store = new TokenStore(dir);
    const { token } = store.create('grafana');
    expect(readFileSync(join(dir, 'tokens.json'), 'utf8')).not.toContain(token.split('_').slice(2).join('_'));
    expect(store.verify(token)).toBe('grafana');
    expect(store.verify(token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A'))).toBeUndefined();
    expect(store.verify('garbage')).toBeUndefined();
    const expired = store.create('old', -1000).token;
    expect(store.verify(expired)).toBeUndefined();
    expect(store.revoke('grafana')).toBe(true);
    expect(new TokenStore(dir).verify(token)).toBeUndefined();
  });

  it('is read by another process (the hub) after the CLI writes it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tok-'));
    const hubSide = new TokenStore(dir);
    expect(hubSide.verify('sft_0000000000000000_' + 'a'.repeat(43))).toBeUndefined();
    const { token } = new TokenStore(dir).create('ci');
    // The hub re-reads the file at most once a second.
    return new Promise<void>((resolve) =>
      setTimeout(() => {
        expect(hubSide.verify(token)).toBe('ci');
        resolve();
      }, 1100),
    );
  });
});

describe('Authenticator', () => {
  const auth = new Authenticator(new TokenStore(mkdtempSync(join(tmpdir(), 'tok-'))));
  it('names the user of a client certificate', async () => {
    await expect(auth.authenticate({ peerSubjectAltName: 'URI:spiffe://t/user/alice, DNS:x' })).resolves.toEqual({ name: 'alice', method: 'mtls', role: 'client', groups: [], attributes: {} });
  });
  it('refuses anonymous calls, agent certificates and malformed headers', async () => {
    await expect(auth.authenticate({})).rejects.toThrow(/authentication required/);
    await expect(auth.authenticate({ peerSubjectAltName: 'URI:spiffe://t/cluster/a/agent/x' })).rejects.toThrow(/agent certificates/);
    await expect(auth.authenticate({ authorization: 'Basic abc' })).rejects.toThrow(/malformed Authorization/);
    await expect(auth.authenticate({ authorization: 'Bearer nope' })).rejects.toThrow(/invalid, expired or revoked/);
  });
});
