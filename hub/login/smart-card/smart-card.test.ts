import 'reflect-metadata';
import { webcrypto, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { beforeAll, describe, expect, it } from 'vitest';
import { makePki, type TestPki } from '../../../test/harness/pki.js';
import { makeSmartCardPki, type SmartCardPki } from '../../../test/harness/smart-card-pki.js';
import { authConfigSchema } from '../config.js';
import { hiddenByInvalidPurpose } from './card-user.js';
import { cardUser, keyUsageProblem, readCardTrust, smartCardConfigSchema } from './index.js';

let cards: SmartCardPki;
let fleet: TestPki;
const base = smartCardConfigSchema.parse({ listen: '127.0.0.1:0', ca_file: '/x', strip_domain: true, domains: ['corp.example', 'mail.example'] });
const der = (path: string): Buffer => new X509Certificate(readFileSync(path)).raw;

beforeAll(async () => {
  cards = await makeSmartCardPki();
  fleet = await makePki();
});

describe('the user a card names', () => {
  it('takes the UPN first, then the e-mail, then the subject, as map_from orders them', async () => {
    const c = await cards.issue('ada', { subject: 'CN=Ada Lovelace, O=Example', upn: 'ada@corp.example', email: 'a.lovelace@mail.example' });
    expect(cardUser(der(c.cert), base)).toMatchObject({ name: 'ada', from: 'upn', serial: c.serial });
    expect(cardUser(der(c.cert), { ...base, map_from: ['email', 'upn'] })).toMatchObject({ name: 'a.lovelace', from: 'email' });
    expect(cardUser(der(c.cert), { ...base, strip_domain: false })).toMatchObject({ name: 'ada@corp.example' });
    // A subject CN with a space is no user name: refused, not mangled into one.
    expect(() => cardUser(der(c.cert), { ...base, map_from: ['subject'] })).toThrow('"Ada Lovelace" (the certificate\'s subject) is not a valid user name');
    const g = await cards.issue('grace', { subject: 'CN=grace, 0.9.2342.19200300.100.1.1=ghopper, O=Example' });
    expect(cardUser(der(g.cert), base)).toMatchObject({ name: 'grace', from: 'subject' });
    expect(cardUser(der(g.cert), { ...base, subject_attribute: 'UID' })).toMatchObject({ name: 'ghopper' });
    expect(() => cardUser(der(g.cert), { ...base, map_from: ['upn', 'email'] })).toThrow('the certificate names no user (no upn, no email; auth.smart_card.map_from is upn, email)');
  });

  it('refuses a UPN of a domain outside auth.smart_card.domains', async () => {
    const c = await cards.issue('mallory', { subject: 'CN=mallory', upn: 'admin@evil.example' });
    expect(() => cardUser(der(c.cert), { ...base, domains: ['corp.example'] })).toThrow('the upn "admin@evil.example" is of domain evil.example, not one of auth.smart_card.domains (corp.example)');
    expect(cardUser(der(c.cert), { ...base, domains: ['EVIL.example'] }).name).toBe('admin');
  });

  it('refuses a fleet-CA client certificate: it names a tool, not a person', () => {
    // A SPIFFE URI is no UPN, e-mail or subject user: nothing maps.
    expect(() => cardUser(der(fleet.client.cert), { ...base, map_from: ['upn', 'email'] })).toThrow('the certificate names no user');
  });
});

describe('the Extended Key Usage a card needs to log in', () => {
  it('client_auth by default; smart_card_logon when configured; no extension, or another usage, is refused with the reason', async () => {
    const both = await cards.issue('eku-both', { subject: 'CN=both', upn: 'both@corp.example' });
    const client = await cards.issue('eku-client', { subject: 'CN=client', eku: ['1.3.6.1.5.5.7.3.2'] });
    const logon = await cards.issue('eku-logon', { subject: 'CN=logon', eku: ['1.3.6.1.4.1.311.20.2.2'] });
    const none = await cards.issue('eku-none', { subject: 'CN=none', eku: [] });
    const mail = await cards.issue('eku-mail', { subject: 'CN=mail', eku: ['1.3.6.1.5.5.7.3.4'] });
    expect(base.extended_key_usage).toEqual(['client_auth']);
    expect(keyUsageProblem(der(both.cert), base.extended_key_usage)).toBeUndefined();
    expect(keyUsageProblem(der(client.cert), ['client_auth'])).toBeUndefined();
    expect(keyUsageProblem(der(logon.cert), ['client_auth'])).toBe("the card's certificate is not for logins: its Extended Key Usage is 1.3.6.1.4.1.311.20.2.2, auth.smart_card.extended_key_usage asks for client_auth (1.3.6.1.5.5.7.3.2)");
    expect(keyUsageProblem(der(logon.cert), ['client_auth', 'smart_card_logon'])).toBeUndefined();
    expect(keyUsageProblem(der(client.cert), ['smart_card_logon'])).toMatch(/not for logins: its Extended Key Usage is 1\.3\.6\.1\.5\.5\.7\.3\.2, .* asks for smart_card_logon \(1\.3\.6\.1\.4\.1\.311\.20\.2\.2\)$/);
    expect(keyUsageProblem(der(none.cert), ['client_auth', 'smart_card_logon'])).toBe("the card's certificate has no Extended Key Usage; auth.smart_card.extended_key_usage asks for client_auth (1.3.6.1.5.5.7.3.2) or smart_card_logon (1.3.6.1.4.1.311.20.2.2)");
    expect(keyUsageProblem(der(mail.cert), ['client_auth', 'smart_card_logon'])).toMatch(/its Extended Key Usage is 1\.3\.6\.1\.5\.5\.7\.3\.4,/);
    expect(smartCardConfigSchema.safeParse({ listen: '127.0.0.1:0', ca_file: '/x', strip_domain: false, extended_key_usage: [] }).success).toBe(false);
    expect(smartCardConfigSchema.safeParse({ listen: '127.0.0.1:0', ca_file: '/x', strip_domain: false, extended_key_usage: ['any'] }).success).toBe(false);
  });
});

describe('the people\'s trust files', () => {
  it('reads the CA and its CRL, and lists revoked serials', async () => {
    const c = await cards.issue('eve', { subject: 'CN=eve', upn: 'eve@corp.example' });
    expect(readCardTrust({ ca_file: cards.ca, crl_file: cards.crl }).revoked.has(c.serial)).toBe(false);
    await cards.revoke(c.serial);
    const trust = readCardTrust({ ca_file: cards.ca, crl_file: cards.crl });
    expect(trust.revoked.has(c.serial)).toBe(true);
    expect(trust.crl).toHaveLength(1);
    expect(trust.nextUpdate!.getTime()).toBeGreaterThan(Date.now());
  });

  it('refuses at start what cannot be the people\'s trust list, naming the key', async () => {
    expect(() => readCardTrust({ ca_file: '/nonexistent/ca.pem' })).toThrow('auth.smart_card.ca_file: cannot read /nonexistent/ca.pem: ENOENT');
    // A leaf certificate is not a CA.
    expect(() => readCardTrust({ ca_file: fleet.client.cert })).toThrow(/auth\.smart_card\.ca_file: .* which is not a CA certificate/);
    const garbage = join(cards.dir, 'garbage.crl');
    writeFileSync(garbage, 'not a crl');
    expect(() => readCardTrust({ ca_file: cards.ca, crl_file: garbage })).toThrow(`auth.smart_card.crl_file: ${garbage} is not a CRL (PEM or DER)`);
    // The CRL of another CA (the card CA's CRL with the fleet CA as the trust list).
    expect(() => readCardTrust({ ca_file: fleet.ca, crl_file: cards.crl })).toThrow('is not of a CA in ca_file');
  });

  it('auth.smart_card loads with its defaults; unknown keys and a bad map_from are refused', () => {
    const auth = authConfigSchema.parse({ smart_card: { listen: '0.0.0.0:8444', ca_file: '/etc/sfleet/cards.pem', domains: ['corp.example'] } });
    expect(auth.smart_card).toMatchObject({ enabled: true, map_from: ['upn', 'email', 'subject'], subject_attribute: 'CN', strip_domain: true, domains: ['corp.example'], groups: [] });
    // Stripping the domain with no domain list would let user@any-domain in as user.
    expect(() => authConfigSchema.parse({ smart_card: { listen: '0.0.0.0:8444', ca_file: '/x' } })).toThrow(/strip_domain \(the default\) needs domains/);
    expect(authConfigSchema.parse({ smart_card: { listen: '0.0.0.0:8444', ca_file: '/x', strip_domain: false } }).smart_card?.domains).toEqual([]);
    expect(authConfigSchema.safeParse({ smart_card: { listen: '0.0.0.0:8444', ca_file: '/x', trust: 'all' } }).success).toBe(false);
    expect(authConfigSchema.safeParse({ smart_card: { listen: '0.0.0.0:8444', ca_file: '/x', map_from: ['upn', 'upn'] } }).success).toBe(false);
  });
});

describe('what OpenSSL\'s INVALID_PURPOSE may hide (its verify result is only the last error)', () => {
  const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const LOGON = '1.3.6.1.4.1.311.20.2.2';
  const make = async (eku: string[], opts: { expired?: boolean; critical?: string } = {}): Promise<Buffer> => {
    x509.cryptoProvider.set(webcrypto as unknown as Crypto);
    const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '01', name: 'CN=card', keys: keys as unknown as CryptoKeyPair, signingAlgorithm: ALG,
      notBefore: new Date(now - (opts.expired ? 10 : 1) * 86_400_000), notAfter: new Date(now + (opts.expired ? -86_400_000 : 86_400_000)),
      extensions: [new x509.ExtendedKeyUsageExtension(eku), ...(opts.critical ? [new x509.Extension(opts.critical, true, new Uint8Array([5, 0]))] : [])],
    });
    return Buffer.from(cert.rawData);
  };

  it('a valid logon-only card passes; expired, an unhandled critical extension, or clientAuth (so the key usage failed) are refused', async () => {
    expect(hiddenByInvalidPurpose(await make([LOGON]))).toBeUndefined();
    expect(hiddenByInvalidPurpose(await make([LOGON], { expired: true }))).toBe("the card's certificate is outside its validity period");
    expect(hiddenByInvalidPurpose(await make([LOGON], { critical: '1.2.3.4.5' }))).toBe("the card's certificate has a critical extension this hub does not handle (1.2.3.4.5)");
    expect(hiddenByInvalidPurpose(await make(['1.3.6.1.5.5.7.3.2', LOGON]))).toMatch(/may not sign a TLS client's handshake/);
  });
});
