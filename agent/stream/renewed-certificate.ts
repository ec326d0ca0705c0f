// Where a renewed agent certificate lives. The configured files (tls.cert, tls.key) are the
// operator's: under the systemd unit /etc/sfleet is read-only to the agent, so the pair the hub
// signs is written to `tls.renewed_dir` (the state directory) instead, and used from then on
// while it is the newer certificate for the same identity. An operator who installs a newer
// certificate in tls.cert later wins again.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TlsFiles } from '../../shared/tls/credentials.js';

/** The renewed pair's files in `dir`. */
export function renewedFiles(dir: string): { cert: string; key: string } {
  return { cert: join(dir, 'agent-renewed.pem'), key: join(dir, 'agent-renewed-key.pem') };
}

function read(path: string): X509Certificate | undefined {
  try {
    return new X509Certificate(readFileSync(path));
  } catch {
    return undefined;
  }
}

const uriOf = (cert: X509Certificate) => /URI:([^,\s]+)/.exec(cert.subjectAltName ?? '')?.[1];

/**
 * The files to connect with: the renewed pair when it is there, names the configured
 * certificate's identity, chains to the CA and expires later; otherwise the configured files.
 */
export function effectiveTls<T extends TlsFiles>(files: T, renewedDir: string): T {
  const renewed = renewedFiles(renewedDir);
  const mine = read(renewed.cert);
  if (!mine) return files;
  const configured = read(files.cert);
  const ca = read(files.ca);
  if (!ca || !mine.checkIssued(ca) || !mine.verify(ca.publicKey)) return files;
  if (configured && (uriOf(configured) !== uriOf(mine) || Date.parse(configured.validTo) >= Date.parse(mine.validTo))) return files;
  return { ...files, cert: renewed.cert, key: renewed.key };
}
