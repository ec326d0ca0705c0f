import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../shared/logging/index.js';
import { samlConfigSchema } from '../../config/index.js';
import { MemorySessionStore } from '../sessions/index.js';
import { startSaml } from './service-provider.js';
import { UsedAssertions } from './used-assertions.js';

describe('used SAML assertions', () => {
  it('accepts an ID once while it is valid, and forgets it after', () => {
    let now = 0;
    const used = new UsedAssertions(() => now);
    expect(used.claim('_a1', 1_000)).toBe(true);
    expect(used.claim('_a1', 1_000)).toBe(false);
    expect(used.claim('_a2', 1_000)).toBe(true);
    now = 1_001;
    expect(used.claim('_a1', 5_000)).toBe(true);
  });
});

describe('SAML service provider config', () => {
  const deps = { logger: silentLogger(), sessions: new MemorySessionStore() };
  it('refuses to start without a readable IdP certificate, naming the key', () => {
    const config = samlConfigSchema.parse({ idp_url: 'https://idp.test/sso', certificate: '/nonexistent/saml.crt' });
    expect(() => startSaml(config, deps)).toThrow('sso.saml.certificate: cannot read /nonexistent/saml.crt: ENOENT');
    const file = join(mkdtempSync(join(tmpdir(), 'saml-')), 'saml.crt');
    writeFileSync(file, 'not a certificate');
    expect(() => startSaml({ ...config, certificate: file }, deps)).toThrow(`sso.saml.certificate: ${file} holds no PEM certificate`);
  });
});
