// Real TLS handshakes against a hub listener: which certificate it presents, whether TLS 1.2
// gets in, and a copy of a certificate set into a private directory a test may overwrite.
import { copyFileSync, mkdtempSync, readFileSync, renameSync } from 'node:fs';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TlsFiles } from '../../shared/tls/index.js';

/** The serial of the certificate a new TLS 1.3 connection to port sees (with a client cert). */
export function presentedSerial(port: number, client: TlsFiles, alpn = 'h2'): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: readFileSync(client.ca), cert: readFileSync(client.cert), key: readFileSync(client.key), ALPNProtocols: [alpn] }, () => {
      const serial = s.getPeerCertificate().serialNumber;
      s.destroy();
      resolve(serial);
    });
    s.on('error', reject);
  });
}

/** The error a TLS 1.2-only client gets from port (resolves 'connected' if it got in). */
export function tls12Attempt(port: number, caPath: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: readFileSync(caPath), maxVersion: 'TLSv1.2' }, () => {
      s.destroy();
      resolve('connected');
    });
    s.on('error', (err) => resolve(err.message));
  });
}

/** Copies a certificate set into a fresh directory (the files a test replaces). */
export function privateCopy(files: TlsFiles): TlsFiles {
  const dir = mkdtempSync(join(tmpdir(), `sfleet-tls-${process.pid}-`));
  const out = { ca: join(dir, 'ca.pem'), cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
  copyFileSync(files.ca, out.ca);
  copyFileSync(files.cert, out.cert);
  copyFileSync(files.key, out.key);
  return out;
}

/** Replaces cert and key the way deployment tools do: new files renamed over the old ones. */
export function replaceFiles(target: TlsFiles, from: { cert: string; key: string }): void {
  copyFileSync(from.key, `${target.key}.new`);
  copyFileSync(from.cert, `${target.cert}.new`);
  renameSync(`${target.key}.new`, target.key);
  renameSync(`${target.cert}.new`, target.cert);
}

/** A TLS 1.3 handshake offering only `suite`: the suite agreed on, or the error the client got. */
export function suiteAttempt(port: number, client: TlsFiles, suite: string, alpn = 'h2'): Promise<{ cipher?: string; error?: string }> {
  return new Promise((resolve) => {
    const s = connect(
      { host: '127.0.0.1', port, servername: 'localhost', ca: readFileSync(client.ca), cert: readFileSync(client.cert), key: readFileSync(client.key), ALPNProtocols: [alpn], minVersion: 'TLSv1.3', ciphers: suite },
      () => {
        const cipher = s.getCipher().name;
        s.destroy();
        resolve({ cipher });
      },
    );
    s.on('error', (err) => resolve({ error: err.message }));
  });
}
