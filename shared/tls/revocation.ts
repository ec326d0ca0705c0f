// The hub's revocation list: data_dir/revoked.json, written by `sfleet ca revoke`, watched by
// the hub. Serials are compared normalized (lower-case hex, no leading zeros).
import { randomBytes, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError } from '../errors/index.js';
import { normalizeSerial } from './csr.js';

export interface RevokedCertificate {
  serial: string;
  reason: string;
  revoked_at: string;
  /** The certificate's SPIFFE id or subject, when revoked by file (for people reading the list). */
  subject?: string;
}

export interface RevocationFile {
  revoked: RevokedCertificate[];
}

/** What a revoked certificate's refusal says (on the agent stream and the API alike). */
export function revocationText(entry: RevokedCertificate): string {
  return `certificate ${entry.serial} was revoked at ${entry.revoked_at} (${entry.reason})`;
}

export function revocationPath(dataDir: string): string {
  return join(dataDir, 'revoked.json');
}

const HEX_RE = /^[0-9a-f]{1,40}$/;

/** Reads the list; a missing file is an empty list, a malformed one an error naming the file. */
export function readRevocations(path: string): Map<string, RevokedCertificate> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new ConfigError(`cannot read the revocation list ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let parsed: RevocationFile;
  try {
    parsed = JSON.parse(text) as RevocationFile;
  } catch (err) {
    throw new ConfigError(`${path}: not JSON: ${(err as Error).message}`);
  }
  if (!parsed || !Array.isArray(parsed.revoked)) throw new ConfigError(`${path}: expected {"revoked": [...]}`);
  const out = new Map<string, RevokedCertificate>();
  for (const [i, entry] of parsed.revoked.entries()) {
    const serial = typeof entry?.serial === 'string' ? normalizeSerial(entry.serial) : '';
    if (!HEX_RE.test(serial)) throw new ConfigError(`${path}: revoked[${i}].serial: expected a hex serial number`);
    out.set(serial, { ...entry, serial });
  }
  return out;
}

/** The serial (normalized) and a readable name of a PEM certificate file. */
export function certificateSerial(pemPath: string): { serial: string; subject: string } {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(readFileSync(pemPath));
  } catch (err) {
    throw new ConfigError(`cannot read the certificate ${pemPath}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const uri = /URI:([^,\s]+)/.exec(cert.subjectAltName ?? '')?.[1];
  return { serial: normalizeSerial(cert.serialNumber), subject: uri ?? cert.subject.replace(/\n/g, ', ') };
}

/** Adds a serial to the list (atomically: a watcher never reads half a file). */
export function revokeCertificate(path: string, entry: { serial: string; reason?: string; subject?: string }): { added: boolean; entry: RevokedCertificate } {
  const serial = normalizeSerial(entry.serial);
  if (!HEX_RE.test(serial)) throw new ConfigError(`"${entry.serial}" is not a hex serial number`);
  // A typo in --data-dir would write a list no hub reads: say so instead.
  if (!existsSync(dirname(path))) throw new ConfigError(`no hub data directory ${dirname(path)}: check --data-dir (or the hub config's data_dir)`);
  const list = readRevocations(path);
  const existing = list.get(serial);
  if (existing) return { added: false, entry: existing };
  const record: RevokedCertificate = { serial, reason: entry.reason || 'unspecified', revoked_at: new Date().toISOString(), ...(entry.subject ? { subject: entry.subject } : {}) };
  list.set(serial, record);
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, JSON.stringify({ revoked: [...list.values()] } satisfies RevocationFile, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, path);
  return { added: true, entry: record };
}
