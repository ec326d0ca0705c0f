// security.encryption.tls on a real hub: with cipher_suites ["TLS_AES_256_GCM_SHA384"] a client
// offering only TLS_AES_128_GCM_SHA256 fails the handshake on both listeners (HTTPS and gRPC),
// one offering the allowed suite gets in and agrees on it, and min_version "1.2" stops the start.
// The clients' side (agent, federation, LDAP, Vault) is shared/tls/policy.test.ts.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePki, type TestPki } from './harness/pki.js';
import { assertBuilt, sfleet } from './harness/sfleet-process.js';
import { StandaloneHub } from './harness/standalone-hub.js';
import { suiteAttempt } from './harness/tls-probe.js';

let pki: TestPki;
let hub: StandaloneHub;

beforeAll(async () => {
  assertBuilt();
  pki = await makePki();
  hub = await new StandaloneHub(mkdtempSync(join(tmpdir(), `sfleet-suites-${process.pid}-`)), pki, {
    security: { encryption: { tls: { min_version: '1.3', cipher_suites: ['TLS_AES_256_GCM_SHA384'] } } },
  }).start();
});

afterAll(async () => {
  await hub?.stop();
});

describe('cipher_suites: ["TLS_AES_256_GCM_SHA384"]', () => {
  for (const listener of ['https', 'grpc'] as const) {
    it(`${listener}: a client offering only TLS_AES_128_GCM_SHA256 cannot connect; TLS_AES_256_GCM_SHA384 can`, async () => {
      const [port, alpn] = listener === 'https' ? [hub.httpPort, 'http/1.1'] : [hub.grpcPort, 'h2'];
      const refused = await suiteAttempt(port, pki.client, 'TLS_AES_128_GCM_SHA256', alpn);
      expect(refused.cipher).toBeUndefined();
      expect(refused.error).toMatch(/handshake failure|alert/i);
      expect(await suiteAttempt(port, pki.client, 'TLS_AES_256_GCM_SHA384', alpn)).toEqual({ cipher: 'TLS_AES_256_GCM_SHA384' });
    });
  }

  it('the hub still answers over the allowed suite', async () => {
    expect((await hub.get('/readyz')).status).toBe(200);
  });
});

describe('min_version', () => {
  it('"1.2" is refused at start with the key and why', async () => {
    const dir = mkdtempSync(join(tmpdir(), `sfleet-suites-12-${process.pid}-`));
    const file = join(dir, 'hub.yaml');
    writeFileSync(file, `tls: { ca: ${pki.hub.ca}, cert: ${pki.hub.cert}, key: ${pki.hub.key} }\ndata_dir: ${dir}/data\nsecurity:\n  encryption:\n    tls:\n      min_version: "1.2"\n`);
    await expect(sfleet(['hub', '--config', file], process.env)).rejects.toThrow('hub.yaml:6: security.encryption.tls.min_version: only "1.3": every listener and client of the fleet speaks TLS 1.3 only, a lower version is refused');
  });
});
