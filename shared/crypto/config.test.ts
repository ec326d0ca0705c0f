import { describe, expect, it } from 'vitest';
import { agentConfigSchema } from '../../agent/config/index.js';
import { hubConfigSchema } from '../../hub/config/index.js';
import { parseConfigText } from '../config/index.js';

const TLS = 'tls: {ca: ca.pem, cert: hub.pem, key: hub-key.pem}\n';
const hub = (text: string) => parseConfigText(hubConfigSchema, TLS + text, 'hub.yaml');

describe('the encryption config section', () => {
  it('fills the Vault defaults and takes the file provider as is', () => {
    const c = hub(
      'encryption:\n  enabled: true\n  provider: vault\n  vault:\n    address: https://vault.example:8200\n    key_name: sfleet\n    token_file: /run/vault/token\n    namespace: ops\n    ca_file: /etc/vault/ca.pem\n',
    );
    expect(c.encryption).toEqual({
      enabled: true,
      provider: 'vault',
      vault: { address: 'https://vault.example:8200', mount: 'transit', key_name: 'sfleet', token_file: '/run/vault/token', namespace: 'ops', ca_file: '/etc/vault/ca.pem', timeout: 5_000, retries: 2 },
    });
    const agent = parseConfigText(
      agentConfigSchema,
      `cluster: c1\nhub: {endpoints: ["h:7443"]}\n${TLS}slurm: {source: cli}\nencryption: {enabled: true, file: {path: /etc/sfleet/keyring.json}}\n`,
      'agent.yaml',
    );
    expect(agent.encryption).toEqual({ enabled: true, provider: 'file', file: { path: '/etc/sfleet/keyring.json' } });
  });

  it('names file, line and key for what cannot work', () => {
    expect(() => hub('encryption:\n  enabled: true\n  provider: vault\n')).toThrow('hub.yaml:3: encryption.vault: provider "vault" needs its "vault" section');
    expect(() => hub('encryption:\n  enabled: true\n  provider: kms\n')).toThrow('hub.yaml:4: encryption.provider: Invalid option: expected one of "file"|"env"|"vault"');
    expect(() => hub('encryption:\n  enabled: true\n  env: {var: SF_KEY}\n  keyring: x\n')).toThrow('hub.yaml:3: encryption: Unrecognized key: "keyring"');
    expect(() => hub('encryption:\n  enabled: true\n  provider: vault\n  vault:\n    address: https://v:8200\n    key_name: k\n    token_file: /t\n    token_env: VAULT_TOKEN\n')).toThrow(
      'hub.yaml:8: encryption.vault.token_file: set exactly one of token_file and token_env',
    );
    expect(() => hub('encryption:\n  provider: env\n  env: {var: "1bad"}\n')).toThrow('hub.yaml:4: encryption.env.var: an environment variable name');
  });
});
