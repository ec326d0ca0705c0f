// Certificate rotation without a restart: when the hub's cert, key or CA file changes, the new
// set is checked (a readable pair that matches, signed by the CA, not expired) and handed to
// the listeners. Open connections keep their session; new handshakes get the new certificate.
// A bad new file is logged and the old credentials stay.
import { X509Certificate } from 'node:crypto';
import type { Server as TlsServer } from 'node:tls';
import type { Logger } from '../../shared/logging/index.js';
import { loadTls, tlsOptionsOf, type ReloadableServerCredentials, type TlsFiles, type TlsMaterial } from '../../shared/tls/index.js';
import { watchFiles, type FileWatchOptions } from './file-watch.js';

export interface CredentialWatcherDeps {
  logger: Logger;
  /** Installs checked material on every listener. */
  apply: (material: TlsMaterial) => void;
}

/** Throws with a readable reason when the material should not replace what serves now. */
export function checkRotatedMaterial(material: TlsMaterial, now = Date.now()): X509Certificate {
  const cert = new X509Certificate(material.cert);
  if (Date.parse(cert.validTo) <= now) throw new Error(`the new certificate expired at ${new Date(cert.validTo).toISOString()}`);
  const cas = (material.ca.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((pem) => new X509Certificate(pem));
  if (cas.length === 0) throw new Error('the CA file holds no certificate');
  if (!cas.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey))) throw new Error('the new certificate is not signed by the CA in tls.ca');
  return cert;
}

export class CredentialWatcher {
  readonly stats = { reloads: 0, refused: 0 };
  /** Serial of the certificate in use (hex, as Node prints it). */
  serial: string;
  private current: TlsMaterial;
  private stop?: () => void;

  constructor(
    private readonly files: TlsFiles,
    initial: TlsMaterial,
    private readonly deps: CredentialWatcherDeps,
    private readonly opts: FileWatchOptions = {},
  ) {
    this.current = initial;
    this.serial = new X509Certificate(initial.cert).serialNumber;
  }

  start(): void {
    this.stop ??= watchFiles([this.files.ca, this.files.cert, this.files.key], () => this.reload(), this.opts);
  }

  close(): void {
    this.stop?.();
    this.stop = undefined;
  }

  /** Reads the files again; answers whether new credentials were installed. */
  reload(): boolean {
    let material: TlsMaterial;
    let cert: X509Certificate;
    try {
      material = loadTls(this.files, 'hub', this.current.policy);
      if (material.cert.equals(this.current.cert) && material.key.equals(this.current.key) && material.ca.equals(this.current.ca)) return false;
      cert = checkRotatedMaterial(material);
    } catch (err) {
      // Often a half-done copy (cert written, key not yet): the next change event retries.
      this.stats.refused++;
      this.deps.logger.error({ err: (err as Error).message, cert: this.files.cert, key: this.files.key, ca: this.files.ca }, 'new TLS files refused; the hub keeps its current certificate');
      return false;
    }
    this.deps.apply(material);
    this.current = material;
    const previous = this.serial;
    this.serial = cert.serialNumber;
    this.stats.reloads++;
    this.deps.logger.info({ serial: this.serial, previous, not_after: new Date(cert.validTo).toISOString() }, 'TLS certificate reloaded; new connections use it');
    return true;
  }
}

/** The hub's two listeners, reloaded together: gRPC (agents, FleetService) and HTTPS (the API). */
export function watchListenerCredentials(
  files: TlsFiles,
  initial: TlsMaterial,
  listeners: { grpc: ReloadableServerCredentials; https: Pick<TlsServer, 'setSecureContext'> },
  deps: { logger: Logger },
  opts: FileWatchOptions = {},
): CredentialWatcher {
  const watcher = new CredentialWatcher(
    files,
    initial,
    {
      logger: deps.logger,
      apply: (m) => {
        listeners.grpc.reload(m);
        // setSecureContext resets every option it is not given: TLS 1.3 only must come again.
        listeners.https.setSecureContext({ ca: m.ca, cert: m.cert, key: m.key, ...tlsOptionsOf(m) });
      },
    },
    opts,
  );
  watcher.start();
  return watcher;
}
