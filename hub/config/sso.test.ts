import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../shared/config/index.js';
import { hubConfigSchema } from './schema.js';

const dir = join(import.meta.dirname, 'testdata');
const load = (name: string, env: NodeJS.ProcessEnv = {}) => loadConfigFile(hubConfigSchema, join(dir, name), { env });

describe('hub config: sso', () => {
  it('reads the issue-shaped oidc section with ${ENV} secrets and fills the defaults', () => {
    const c = load('sso.yaml', { OIDC_CLIENT_ID: 'sfleet', OIDC_CLIENT_SECRET: 's3cret' });
    expect(c.sso?.oidc).toEqual({
      enabled: true,
      issuer: 'https://auth.company.com',
      client_id: 'sfleet',
      client_secret: 's3cret',
      algorithms: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'],
      clock_skew: 30_000,
      timeout: 5_000,
      retry_max_delay: 30_000,
      jwks_max_age: 600_000,
      jwks_refetch_cooldown: 30_000,
      claims: { user: 'preferred_username', groups: 'groups', project: 'project' },
      scopes: ['openid', 'profile', 'email'],
      session_ttl: 8 * 3_600_000,
    });
  });

  it('names the missing environment variable', () => {
    expect(() => load('sso.yaml', { OIDC_CLIENT_ID: 'sfleet' })).toThrow('sso.yaml:3: sso.oidc.client_secret: environment variable OIDC_CLIENT_SECRET is not set');
  });

  const cases: [string, string][] = [
    ['sso-http-issuer.yaml', 'sso-http-issuer.yaml:4: sso.oidc.issuer: expected an https:// URL (the identity provider is reached over TLS only)'],
    ['sso-hs256.yaml', 'sso-hs256.yaml:6: sso.oidc.algorithms.1: one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA: unsigned (none) and shared-secret (HS*) tokens are never accepted'],
    ['sso-large-skew.yaml', 'sso-large-skew.yaml:6: sso.oidc.clock_skew: at most 5m: a larger skew keeps expired tokens alive'],
  ];
  for (const [file, message] of cases) {
    it(`refuses ${file} with a message naming file, line and key`, () => {
      expect(() => load(file)).toThrow(message);
    });
  }
});
