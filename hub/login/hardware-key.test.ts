// The brief's MFA block: `type: "hardware"` with `challenge_timeout` is the WebAuthn factor
// (FIDO2 keys), its RP ID and origins from http.allowed_origins unless given.
import { describe, expect, it } from 'vitest';
import { parseConfigText, validateConfigText } from '../../shared/config/index.js';
import { hubConfigSchema } from '../config/index.js';
import { webauthnProvider } from './config.js';

const TLS = 'tls: { ca: a, cert: b, key: c }\n';
const BRIEF = `auth:
  mfa:
    enabled: true
    providers:
      - type: "totp"
        issuer: "s9s-enterprise"
      - type: "hardware"
        challenge_timeout: 30s
`;

describe('MFA provider type hardware', () => {
  it("is the webauthn factor: RP ID and origins from http.allowed_origins, challenge_timeout as the challenge's lifetime", () => {
    const c = parseConfigText(hubConfigSchema, `${TLS}http: { allowed_origins: ["http://other.company.com", "https://fleet.company.com:8443", "https://fleet2.company.com"] }\n${BRIEF}`, 'hub.yaml', { env: {} });
    expect(c.auth.mfa.providers[1]).toMatchObject({ type: 'hardware', challenge_timeout: 30_000 });
    expect(webauthnProvider(c.auth)).toEqual({ type: 'webauthn', rp_id: 'fleet.company.com', rp_name: 'sfleet', origins: ['https://fleet.company.com:8443', 'https://fleet2.company.com'], challenge_ttl: 30_000 });
  });

  it('takes rp_id and origins when given, as webauthn does', () => {
    const c = parseConfigText(hubConfigSchema, `${TLS}auth: { mfa: { providers: [{ type: hardware, rp_id: localhost, origins: ["https://localhost:8443"], rp_name: Lab }] } }\n`, 'hub.yaml', { env: {} });
    expect(webauthnProvider(c.auth)).toEqual({ type: 'webauthn', rp_id: 'localhost', rp_name: 'Lab', origins: ['https://localhost:8443'], challenge_ttl: 120_000 });
  });

  it('is refused with where its origins come from when nothing names them, and beside a webauthn provider', () => {
    expect(validateConfigText(hubConfigSchema, TLS + BRIEF, 'hub.yaml', { env: {} })).toEqual([
      expect.stringMatching(/^hub\.yaml:\d+: auth\.mfa\.providers\.1: a hardware key \(FIDO2\/WebAuthn\) is bound to the origins browsers use: set rp_id and origins here, or list the dashboard's https origins in http\.allowed_origins$/),
    ]);
    expect(validateConfigText(hubConfigSchema, `${TLS}http: { allowed_origins: ["http://fleet:8080"] }\n${BRIEF}`, 'hub.yaml', { env: {} })).toEqual([
      expect.stringMatching(/^hub\.yaml:2: http\.allowed_origins: no https origin for the hardware key of auth\.mfa\.providers\.1 to be bound to \(WebAuthn needs https\)/),
    ]);
    expect(validateConfigText(hubConfigSchema, `${TLS}auth: { mfa: { providers: [{ type: hardware, rp_id: a, origins: ["https://a"] }, { type: webauthn, rp_id: a, origins: ["https://a"] }] } }\n`, 'hub.yaml', { env: {} })).toEqual([
      expect.stringMatching(/auth\.mfa\.providers: at most one provider of each kind: totp, and webauthn or hardware \(the same factor\)/),
    ]);
    expect(validateConfigText(hubConfigSchema, `${TLS}http: { allowed_origins: ["https://a"] }\nauth: { mfa: { providers: [{ type: hardware, challenge_timeout: 1s }] } }\n`, 'hub.yaml', { env: {} })).toEqual([
      expect.stringMatching(/challenge_timeout: between 10s and 10m/),
    ]);
    expect(validateConfigText(hubConfigSchema, `${TLS}auth: { mfa: { providers: [{ type: smartcard }] } }\n`, 'hub.yaml', { env: {} })).toEqual([
      expect.stringMatching(/type "totp", "webauthn", or "hardware"/),
    ]);
  });
});
