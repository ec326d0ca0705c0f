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
  /** Validity in milliseconds (wins over days): short-lived certificates. */
  lifetimeMs?: number;
}

/** The fleet CA's certificate and signing key, loaded once. */
export interface LoadedCa {
  cert: x509.X509Certificate;
  key: CryptoKey;
  trustDomain: string;
}

type CryptoKey = webcrypto.CryptoKey;

/** Loads the CA from its PEM files and checks that the key belongs to the certificate. */
export async function loadCa(certPath: string, keyPath: string): Promise<LoadedCa> {
  let cert: x509.X509Certificate;
  let key: CryptoKey;
  try {
    cert = new x509.X509Certificate(await readFile(certPath, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read the CA certificate "${certPath}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    key = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(await readFile(keyPath, 'utf8')), ALG, false, ['sign']);
  } catch (err) {
    throw new ConfigError(`cannot read the CA key "${keyPath}" (an ECDSA P-256 PKCS#8 PEM): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  // A key that does not belong to the certificate would issue certificates nobody trusts.
  const probe = new TextEncoder().encode('sfleet ca key probe');
  const signature = await webcrypto.subtle.sign(ALG, key, probe);
  const publicKey = await cert.publicKey.export(ALG, ['verify']);
  if (!(await webcrypto.subtle.verify(ALG, publicKey, signature, probe))) {
    throw new ConfigError(`the CA key "${keyPath}" does not belong to the CA certificate "${certPath}"`);
  }
  return { cert, key, trustDomain: trustDomainOf(cert) };
}

/** Some clock-skew slack before now, but never a large part of a short lifetime. */
function backdateMs(lifetimeMs: number): number {
  return Math.min(60_000, Math.floor(lifetimeMs / 10));
}

/** Signs a leaf certificate for an identity: the only place leaf certificates are made. */
export async function signLeaf(
  ca: LoadedCa,
  opts: { role: Role; name: string; cluster?: string; sans?: string[]; lifetimeMs: number; publicKey: CryptoKey | x509.PublicKey },
): Promise<x509.X509Certificate> {
  const id = spiffeId(ca.trustDomain, opts.role, opts.name, opts.cluster);
  const names: x509.JsonGeneralName[] = [{ type: 'url', value: id }];
  const sans = [...(opts.sans ?? [])];
  if (opts.role === 'hub') sans.push('localhost', '127.0.0.1', '::1');
  for (const san of new Set(sans.map((s) => s.trim()).filter(Boolean))) {
    names.push(isIP(san) ? { type: 'ip', value: san } : { type: 'dns', value: san });
  }
  const usages = opts.role === 'hub' ? [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth] : [x509.ExtendedKeyUsage.clientAuth];
  const now = Date.now();
  return x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${opts.name}, O=slurmfleet, OU=${opts.role}`,
    issuer: ca.cert.subject,
    notBefore: new Date(now - backdateMs(opts.lifetimeMs)),
    notAfter: new Date(now + opts.lifetimeMs),
    signingKey: ca.key,
    publicKey: opts.publicKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension(usages, false),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
    ],
  });
}

/** A new ECDSA P-256 key pair and its PKCS#8 PEM (the agent's renewal makes one too). */
export async function generateKeyPair(): Promise<{ keys: webcrypto.CryptoKeyPair; keyPem: string }> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  return { keys, keyPem: keyToPem(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)) };
}

export const KEY_ALGORITHM = ALG;

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
  if (opts.lifetimeMs !== undefined && !(opts.lifetimeMs >= 1_000)) throw new ConfigError('a certificate lifetime must be at least 1s');
  const files = caFiles(dir);
  if (!(await exists(files.cert)) || !(await exists(files.key))) {
    throw new ConfigError(`no CA in ${dir}: run "sfleet ca init --dir ${dir}" first`);
  }
  const ca = await loadCa(files.cert, files.key);
  const id = spiffeId(ca.trustDomain, opts.role, opts.name, opts.cluster);
  const { keys, keyPem } = await generateKeyPair();
  const cert = await signLeaf(ca, { ...opts, lifetimeMs: opts.lifetimeMs ?? (opts.days ?? 365) * DAY_MS, publicKey: keys.publicKey });
  const certPath = join(dir, `${opts.name}.pem`);
  const keyPath = join(dir, `${opts.name}-key.pem`);
  await writeFile(keyPath, keyPem, { mode: 0o600 });
  await writeFile(certPath, cert.toString('pem') + '\n', { mode: 0o644 });
  return { cert: certPath, key: keyPath, id };
}
