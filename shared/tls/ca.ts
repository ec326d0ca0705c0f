// A private CA for the fleet: ECDSA P-256 keys, SPIFFE-style URI SANs that name what a
// certificate may speak for. `sfleet ca init|issue` are thin wrappers over these.
// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { mkdir, readFile, writeFile, access } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { ConfigError } from '../errors/index.js';
import { spiffeId, type Role } from './identity.js';

x509.cryptoProvider.set(webcrypto as never);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export interface CaFiles {
  cert: string;
  key: string;
}

export function caFiles(dir: string): CaFiles {
  return { cert: join(dir, 'ca.pem'), key: join(dir, 'ca-key.pem') };
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

function keyToPem(pkcs8: ArrayBuffer): string {
  return x509.PemConverter.encode(pkcs8, 'PRIVATE KEY') + '\n';
}

function serial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] &= 0x7f; // positive
  return Buffer.from(bytes).toString('hex');
}

export async function initCa(dir: string, opts: { trustDomain: string; days?: number; force?: boolean }): Promise<CaFiles> {
  if (!NAME_RE.test(opts.trustDomain)) throw new ConfigError(`invalid trust domain "${opts.trustDomain}"`);
  const files = caFiles(dir);
  if (!opts.force && (await exists(files.cert))) {
    throw new ConfigError(`${files.cert} already exists; refusing to replace a CA (use --force)`);
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=sfleet CA ${opts.trustDomain}, O=slurmfleet`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + (opts.days ?? 3650) * DAY_MS),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${opts.trustDomain}` }]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  await writeFile(files.key, keyToPem(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)), { mode: 0o600 });
  await writeFile(files.cert, cert.toString('pem') + '\n', { mode: 0o644 });
  return files;
}

export interface IssueOptions {
  role: Role;
  name: string;
  cluster?: string;
  sans?: string[];
  days?: number;
}

/** The trust domain is the CA's own URI SAN. */
export function trustDomainOf(caCert: x509.X509Certificate): string {
  const san = caCert.getExtension(x509.SubjectAlternativeNameExtension);
  const uri = san?.names.items.find((n) => n.type === 'url')?.value;
  const m = uri ? /^spiffe:\/\/([^/]+)$/.exec(uri) : null;
  if (!m) throw new ConfigError('the CA certificate has no spiffe:// trust domain; was it made by sfleet ca init?');
  return m[1];
}

export async function issueCertificate(dir: string, opts: IssueOptions): Promise<{ cert: string; key: string; id: string }> {
  if (!NAME_RE.test(opts.name)) throw new ConfigError(`invalid name "${opts.name}": letters, digits, . _ - only`);
  if (opts.role === 'agent' && !opts.cluster) throw new ConfigError('an agent certificate needs --cluster');
  if (opts.cluster !== undefined && !NAME_RE.test(opts.cluster)) throw new ConfigError(`invalid cluster "${opts.cluster}"`);
  const files = caFiles(dir);
  if (!(await exists(files.cert)) || !(await exists(files.key))) {
    throw new ConfigError(`no CA in ${dir}: run "sfleet ca init --dir ${dir}" first`);
  }
  const caCert = new x509.X509Certificate(await readFile(files.cert, 'utf8'));
  const caKeyDer = x509.PemConverter.decodeFirst(await readFile(files.key, 'utf8'));
  const caKey = await webcrypto.subtle.importKey('pkcs8', caKeyDer, ALG, false, ['sign']);
  const trustDomain = trustDomainOf(caCert);
  const id = spiffeId(trustDomain, opts.role, opts.name, opts.cluster);

  const names: x509.JsonGeneralName[] = [{ type: 'url', value: id }];
  const sans = [...(opts.sans ?? [])];
  if (opts.role === 'hub') sans.push('localhost', '127.0.0.1', '::1');
  for (const san of new Set(sans.map((s) => s.trim()).filter(Boolean))) {
    names.push(isIP(san) ? { type: 'ip', value: san } : { type: 'dns', value: san });
  }
  const usages = opts.role === 'hub' ? [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth] : [x509.ExtendedKeyUsage.clientAuth];

  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${opts.name}, O=slurmfleet, OU=${opts.role}`,
    issuer: caCert.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + (opts.days ?? 365) * DAY_MS),
    signingKey: caKey,
    publicKey: keys.publicKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension(usages, false),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  const certPath = join(dir, `${opts.name}.pem`);
  const keyPath = join(dir, `${opts.name}-key.pem`);
  await writeFile(keyPath, keyToPem(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)), { mode: 0o600 });
  await writeFile(certPath, cert.toString('pem') + '\n', { mode: 0o644 });
  return { cert: certPath, key: keyPath, id };
}
