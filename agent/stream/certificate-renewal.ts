// The agent renews its own certificate from the hub before it expires: at `renew_at` of its
// lifetime it makes a new key pair (the private key never leaves this host), sends a CSR over
// the authenticated stream, checks what comes back, writes key and certificate atomically into
// `renewedDir` (the state directory: the configured files are the operator's, read-only to the
// service) and reconnects with them. A refusal (the hub has no CA key, the certificate was revoked) is
// logged with the time left, retried later, and the agent keeps working until expiry.
import { createPrivateKey, createPublicKey, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { CertificateIssued, CertificateRefused } from '../../generated/fleet/v1/agent.js';
import type { Logger } from '../../shared/logging/index.js';
import { loadTls, type TlsFiles } from '../../shared/tls/credentials.js';
import { effectiveTls, renewedFiles } from './renewed-certificate.js';

export interface CertificateRenewalOptions {
  /** The configured files (tls.ca, tls.cert, tls.key): read, never written. */
  files: TlsFiles;
  /** Where the renewed pair is written (tls.renewed_dir). */
  renewedDir: string;
  /** Fraction of the lifetime after which to renew (0.7: at 70%). */
  renewAt: number;
  /** How long to wait for the hub's answer before trying again later. */
  answerTimeoutMs?: number;
}

/** What the renewal needs from the stream it rides on. */
export interface RenewalLink {
  send(csrPem: string): void;
  reconnect(reason: string): void;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

function uriOf(cert: X509Certificate): string | undefined {
  return /URI:([^,\s]+)/.exec(cert.subjectAltName ?? '')?.[1];
}

function spki(key: KeyObject): Buffer {
  return (key.type === 'private' ? createPublicKey(key) : key).export({ type: 'spki', format: 'der' });
}

export class CertificateRenewal {
  readonly stats = { requested: 0, renewed: 0, refused: 0 };
  lastRefusal?: string;
  private link?: RenewalLink;
  private timer?: NodeJS.Timeout;
  private answerTimer?: NodeJS.Timeout;
  private pendingKey?: string;
  private retryAfterFailure = false;

  constructor(
    private readonly opts: CertificateRenewalOptions,
    private readonly deps: { logger: Logger },
  ) {}

  /** The stream is up (welcomed): renewal may use it. */
  attach(link: RenewalLink): void {
    this.detach();
    this.link = link;
    this.schedule();
  }

  /** The stream is gone: no request is in flight any more. */
  detach(): void {
    clearTimeout(this.timer);
    clearTimeout(this.answerTimer);
    this.link = undefined;
    this.pendingKey = undefined;
  }

  /** The certificate the agent connects with: the renewed one once there is one. */
  private current(): X509Certificate | undefined {
    const { cert: path } = effectiveTls(this.opts.files, this.opts.renewedDir);
    try {
      return new X509Certificate(readFileSync(path));
    } catch (err) {
      this.deps.logger.error({ err: (err as Error).message, cert: path }, 'cannot read the agent certificate to plan its renewal');
      return undefined;
    }
  }

  private schedule(): void {
    clearTimeout(this.timer);
    const cert = this.current();
    if (!cert || !this.link) return;
    const notBefore = Date.parse(cert.validFrom);
    const notAfter = Date.parse(cert.validTo);
    const due = notBefore + this.opts.renewAt * (notAfter - notBefore);
    const now = Date.now();
    let delay = Math.max(0, due - now);
    if (this.retryAfterFailure) delay = Math.max(delay, Math.min(3_600_000, Math.max(5_000, (notAfter - now) / 10)));
    this.timer = setTimeout(() => void this.request(), Math.min(delay, MAX_TIMER_MS));
    this.timer.unref();
  }

  private async request(): Promise<void> {
    const link = this.link;
    const cert = this.current();
    const id = cert && uriOf(cert);
    if (!link || !cert) return;
    if (!id) {
      this.deps.logger.error({ cert: effectiveTls(this.opts.files, this.opts.renewedDir).cert }, 'the agent certificate has no SPIFFE identity: it cannot be renewed');
      return;
    }
    // Loaded only when a renewal is due: @peculiar/x509 costs the agent ~5 MiB of resident memory.
    const { createCertificateRequest } = await import('../../shared/tls/csr.js');
    const { csrPem, keyPem } = await createCertificateRequest(id);
    if (link !== this.link) return;
    this.pendingKey = keyPem;
    this.stats.requested++;
    this.deps.logger.info({ serial: cert.serialNumber, not_after: new Date(cert.validTo).toISOString() }, 'renewing the agent certificate');
    link.send(csrPem);
    this.answerTimer = setTimeout(() => {
      if (!this.pendingKey) return;
      this.pendingKey = undefined;
      this.fail('SF_TLS_RENEWAL_TIMEOUT', 'the hub did not answer the certificate request in time');
    }, this.opts.answerTimeoutMs ?? 30_000);
  }

  onRefused(refused: CertificateRefused): void {
    if (!this.pendingKey) return;
    this.pendingKey = undefined;
    clearTimeout(this.answerTimer);
    this.stats.refused++;
    this.fail(refused.code || 'SF_TLS_RENEWAL_REFUSED', refused.message);
  }

  private fail(code: string, message: string): void {
    this.lastRefusal = `${code}: ${message}`;
    this.retryAfterFailure = true;
    const cert = this.current();
    const left = cert ? Date.parse(cert.validTo) - Date.now() : 0;
    if (left <= 0) this.deps.logger.error({ code, err: message }, 'certificate renewal failed and the agent certificate has EXPIRED: install a new one (sfleet ca issue)');
    else this.deps.logger.warn({ code, err: message, expires_in_s: Math.round(left / 1000) }, 'certificate renewal failed; retrying later; the current certificate still works until it expires');
    this.schedule();
  }

  async onIssued(issued: CertificateIssued): Promise<void> {
    const keyPem = this.pendingKey;
    if (!keyPem) return;
    this.pendingKey = undefined;
    clearTimeout(this.answerTimer);
    try {
      this.install(issued.certificate_pem, keyPem);
    } catch (err) {
      this.fail('SF_TLS_RENEWAL_BAD_CERTIFICATE', (err as Error).message);
      return;
    }
    this.stats.renewed++;
    this.retryAfterFailure = false;
    this.lastRefusal = undefined;
    this.deps.logger.info({ serial: issued.serial, not_after: issued.not_after }, 'agent certificate renewed; reconnecting with it');
    this.link?.reconnect('certificate renewed');
  }

  /** Checks the issued certificate against the old one and the CA, then swaps the files. */
  private install(certPem: string, keyPem: string): void {
    const old = this.current();
    const cert = new X509Certificate(certPem);
    if (!spki(createPrivateKey(keyPem)).equals(spki(cert.publicKey))) throw new Error('the issued certificate is not for the key this agent made');
    if (!old || uriOf(cert) !== uriOf(old)) throw new Error(`the issued certificate names ${uriOf(cert)}, not this agent (${old && uriOf(old)})`);
    const ca = new X509Certificate(readFileSync(this.opts.files.ca));
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) throw new Error('the issued certificate is not signed by the CA this agent trusts');
    // Both files replaced by rename: a reader sees the old or the new file, never half of one.
    const suffix = `.${randomBytes(4).toString('hex')}.tmp`;
    const { cert: certPath, key: keyPath } = renewedFiles(this.opts.renewedDir);
    mkdirSync(this.opts.renewedDir, { recursive: true, mode: 0o700 });
    writeFileSync(keyPath + suffix, keyPem, { mode: 0o600 });
    writeFileSync(certPath + suffix, certPem, { mode: 0o644 });
    renameSync(keyPath + suffix, keyPath);
    renameSync(certPath + suffix, certPath);
    loadTls({ ...this.opts.files, cert: certPath, key: keyPath }, 'agent (renewed)');
  }
}
