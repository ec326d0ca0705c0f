// An enterprise CA that is not the fleet CA, as a site's smart cards come from: person
// certificates with a UPN (otherName 1.3.6.1.4.1.311.20.2.3), an e-mail address or only a
// subject, and a CRL the test rewrites to revoke one of them.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { registerSecret } from '../../scripts/test/run-dir.js';

x509.cryptoProvider.set(webcrypto as never);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

export interface PersonCard {
  cert: string;
  key: string;
  /** Lower-case hex, as the CRL and Node's serialNumber name it. */
  serial: string;
}

export interface PersonIdentity {
  /** Subject DN, e.g. "CN=Ada Lovelace, O=Example". */
  subject: string;
  upn?: string;
  email?: string;
  /** Extended Key Usage OIDs; default clientAuth and smart-card logon; [] leaves the extension out. */
  eku?: string[];
}

export interface SmartCardPki {
  dir: string;
  /** The enterprise CA's certificate (PEM file): auth.smart_card.ca_file. */
  ca: string;
  /** The CRL file (PEM): auth.smart_card.crl_file. Empty list until revoke(). */
  crl: string;
  issue(name: string, who: PersonIdentity): Promise<PersonCard>;
  /** Writes a new CRL (atomically) listing these serials besides the ones revoked before. */
  revoke(...serials: string[]): Promise<void>;
}

function serialHex(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(12));
  bytes[0] = (bytes[0]! & 0x7f) | 0x10; // positive, no leading zero byte
  return Buffer.from(bytes).toString('hex');
}

export async function makeSmartCardPki(caName = 'CN=Example Corp Smart Card CA, O=Example Corp'): Promise<SmartCardPki> {
  const dir = mkdtempSync(join(tmpdir(), 'sfleet-smartcard-'));
  const caKeys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const now = Date.now();
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialHex(),
    name: caName,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 365 * DAY_MS),
    signingAlgorithm: ALG,
    keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const ca = join(dir, 'enterprise-ca.pem');
  writeFileSync(ca, caCert.toString('pem') + '\n');
  const crl = join(dir, 'enterprise.crl.pem');
  const revoked: string[] = [];
  const writeCrl = async (): Promise<void> => {
    const list = await x509.X509CrlGenerator.create({
      issuer: caCert.subject,
      thisUpdate: new Date(Date.now() - 60_000),
      nextUpdate: new Date(Date.now() + DAY_MS),
      entries: revoked.map((serialNumber) => ({ serialNumber, revocationDate: new Date(Date.now() - 1_000), reason: x509.X509CrlReason.keyCompromise })),
      extensions: [await x509.AuthorityKeyIdentifierExtension.create(caCert, false)],
      signingAlgorithm: ALG,
      signingKey: caKeys.privateKey,
    });
    const tmp = `${crl}.tmp`;
    // OpenSSL's label (@peculiar/x509 writes "CRL").
    writeFileSync(tmp, x509.PemConverter.encode(list.rawData, 'X509 CRL') + '\n');
    renameSync(tmp, crl);
  };
  await writeCrl();
  return {
    dir,
    ca,
    crl,
    async issue(name, who) {
      const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
      const serialNumber = serialHex();
      const names: x509.JsonGeneralName[] = [];
      if (who.upn) names.push({ type: 'upn', value: who.upn });
      if (who.email) names.push({ type: 'email', value: who.email });
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber,
        subject: who.subject,
        issuer: caCert.subject,
        notBefore: new Date(Date.now() - 60_000),
        notAfter: new Date(Date.now() + 30 * DAY_MS),
        signingAlgorithm: ALG,
        publicKey: keys.publicKey,
        signingKey: caKeys.privateKey,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          ...((who.eku ?? [x509.ExtendedKeyUsage.clientAuth, '1.3.6.1.4.1.311.20.2.2' /* smart card logon */]).length ? [new x509.ExtendedKeyUsageExtension(who.eku ?? [x509.ExtendedKeyUsage.clientAuth, '1.3.6.1.4.1.311.20.2.2'])] : []),
          ...(names.length ? [new x509.SubjectAlternativeNameExtension(names)] : []),
          await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
        ],
      });
      const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
      const keyPem = x509.PemConverter.encode(pkcs8, 'PRIVATE KEY') + '\n';
      registerSecret(keyPem, `smart-card key of ${name}`);
      const certPath = join(dir, `${name}.pem`);
      const keyPath = join(dir, `${name}-key.pem`);
      writeFileSync(certPath, cert.toString('pem') + '\n');
      writeFileSync(keyPath, keyPem, { mode: 0o600 });
      return { cert: certPath, key: keyPath, serial: serialNumber.replace(/^0+/, '') };
    },
    async revoke(...serials) {
      revoked.push(...serials);
      await writeCrl();
    },
  };
}
