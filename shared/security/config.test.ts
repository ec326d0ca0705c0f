import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentConfigSchema } from '../../agent/config/index.js';
import { hubConfigSchema } from '../../hub/config/index.js';
import { parseConfigText } from '../config/index.js';
import { AtRest } from '../crypto/index.js';
import { effectiveEncryption, tlsPolicyFrom } from './index.js';

const HUB = 'tls: { ca: ca.pem, cert: hub.pem, key: hub-key.pem }\n';
const hub = (text: string) => parseConfigText(hubConfigSchema, HUB + text, 'hub.yaml', { env: {} });

describe('security.encryption.data_at_rest: drives the envelope encryption', () => {
  it('algorithm AES-256-GCM and key_provider file turn sealing on with the keyring of encryption.file', async () => {
    const dir = mkdtempSync(join(tmpdir(), `sec-${process.pid}-`));
    const c = hub(`encryption: { file: { path: ${join(dir, 'keyring.json')} } }\nsecurity:\n  encryption:\n    data_at_rest:\n      algorithm: "AES-256-GCM"\n      key_provider: "file"\n`);
    // The encryption section alone is off; data_at_rest is what turns it on.
    expect(c.encryption?.enabled).toBe(false);
    const at = await AtRest.create(effectiveEncryption(c.encryption, c.security));
    expect(at.enabled).toBe(true);
    const path = join(dir, 'users.json');
    at.writeFile(path, 'hub/users', Buffer.from('user=alice'));
    expect(readFileSync(path).includes(Buffer.from('alice'))).toBe(false);
    expect(at.readFile(path, 'hub/users')?.toString()).toBe('user=alice');
    // Without the security section the same file stays plain: the setting is what acts.
    expect((await AtRest.create(effectiveEncryption(c.encryption, undefined))).enabled).toBe(false);
  });

  const refusals: [string, string][] = [
    ['security: { encryption: { data_at_rest: { algorithm: "AES-128-CBC", key_provider: file } } }\nencryption: { file: { path: k.json } }\n', 'hub.yaml:2: security.encryption.data_at_rest.algorithm: only "AES-256-GCM": the envelope encryption seals every file with AES-256-GCM data keys'],
    ['security: { encryption: { data_at_rest: { key_provider: vault } } }\n', 'hub.yaml:2: security.encryption.data_at_rest.key_provider: key_provider "vault" needs encryption.vault (address, key_name and token_file or token_env): the provider\'s details live in the encryption section'],
    ['security: { encryption: { data_at_rest: { key_provider: env } } }\nencryption: { enabled: true, provider: file, file: { path: k.json }, env: { var: KEK } }\n', 'hub.yaml:2: security.encryption.data_at_rest.key_provider: "env" contradicts encryption.provider "file": set one of them'],
    ['security: { encryption: { data_at_rest: { key_provider: file, key_rotation_interval: 30s } } }\nencryption: { file: { path: k.json } }\n', 'hub.yaml:2: security.encryption.data_at_rest.key_rotation_interval: at least 1m'],
    ['security: { encryption: { tls: { min_version: "1.2" } } }\n', 'hub.yaml:2: security.encryption.tls.min_version: only "1.3": every listener and client of the fleet speaks TLS 1.3 only, a lower version is refused'],
    ['security: { encryption: { tls: { cipher_suites: [ECDHE-RSA-AES128-GCM-SHA256] } } }\n', 'security.encryption.tls.cipher_suites.0: a TLS 1.3 suite: one of TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256, TLS_AES_128_GCM_SHA256, TLS_AES_128_CCM_SHA256, TLS_AES_128_CCM_8_SHA256'],
  ];
  for (const [text, message] of refusals) {
    it(`refuses: ${message.slice(message.indexOf('security'), message.indexOf(':', message.indexOf('security')))}`, () => {
      expect(() => hub(text)).toThrow(message);
    });
  }
});

describe('security.encryption.tls: one policy for hub and agent', () => {
  it('cipher_suites become the policy every endpoint is built with; absent: OpenSSL defaults, TLS 1.3 only', () => {
    const c = hub('security: { encryption: { tls: { min_version: "1.3", cipher_suites: ["TLS_AES_256_GCM_SHA384"] } } }\n');
    expect(tlsPolicyFrom(c.security)).toEqual({ cipherSuites: ['TLS_AES_256_GCM_SHA384'] });
    expect(tlsPolicyFrom(hub('').security)).toEqual({});
    const agent = parseConfigText(
      agentConfigSchema,
      'cluster: a\nhub: { endpoints: ["h:1"] }\ntls: { ca: c, cert: c, key: k }\nslurm: { endpoints: ["http://s:1"] }\nsecurity: { encryption: { tls: { cipher_suites: [TLS_CHACHA20_POLY1305_SHA256] } } }\n',
      'agent.yaml',
      { env: {} },
    );
    expect(tlsPolicyFrom(agent.security)).toEqual({ cipherSuites: ['TLS_CHACHA20_POLY1305_SHA256'] });
  });
});
