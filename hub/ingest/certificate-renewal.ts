// Agent certificates on the ingest side: revoked certificates may not open a stream (and an
// open stream ends when its certificate is revoked), and an agent renews its own certificate
// over its authenticated stream (CertificateRequest -> CertificateIssued | CertificateRefused).
import type { HubMessage } from '../../generated/fleet/v1/agent.js';
import type { FleetError } from '../../shared/errors/index.js';
import type { Logger } from '../../shared/logging/index.js';
import { CertificateRequestError, signCertificateRequest, type LoadedCa, type PeerIdentity, type RevokedCertificate } from '../../shared/tls/index.js';
import { RevokedCertificateError } from './errors.js';

export interface AgentCertificatesDeps {
  logger: Logger;
  /** Why a certificate serial is refused (revoked), or undefined. */
  revoked: (serial: string | undefined) => RevokedCertificate | undefined;
  /** The CA that signs renewals; absent when the hub has no tls.ca_key (renewal refused). */
  ca?: LoadedCa;
  /** Validity of the certificates the hub issues. */
  lifetimeMs: number;
}

type End = (err: FleetError) => void;

export class AgentCertificates {
  /** Open streams by their certificate's serial, to end them on revocation. */
  private readonly open = new Map<End, string>();
  readonly stats = { issued: 0, refused: 0, ended: 0 };

  constructor(private readonly deps: AgentCertificatesDeps) {}

  /** Checks a new stream's certificate: undefined to admit it, else why not. */
  admit(serial: string | undefined): RevokedCertificateError | undefined {
    const entry = this.deps.revoked(serial);
    return entry ? new RevokedCertificateError(entry) : undefined;
  }

  /** Tracks an admitted stream; the returned function forgets it (call on close). */
  attach(serial: string, end: End): () => void {
    this.open.set(end, serial);
    return () => this.open.delete(end);
  }

  /** Ends the open streams whose certificate is now revoked (the revocation list changed). */
  endRevoked(): void {
    for (const [end, serial] of [...this.open]) {
      const entry = this.deps.revoked(serial);
      if (!entry) continue;
      this.open.delete(end);
      this.stats.ended++;
      end(new RevokedCertificateError(entry));
    }
  }

  /** The answer to an agent's CSR; never throws (a refusal is an answer). */
  async renew(identity: PeerIdentity, serial: string, csrPem: string): Promise<HubMessage> {
    const log = this.deps.logger.child({ agent: identity.id, serial });
    try {
      const revoked = this.admit(serial);
      if (revoked) throw new CertificateRequestError('SF_TLS_CERT_REVOKED', revoked.message);
      const ca = this.deps.ca;
      if (!ca) throw new CertificateRequestError('SF_TLS_RENEWAL_DISABLED', 'this hub cannot renew certificates: it has no tls.ca_key; issue a new one with "sfleet ca issue"');
      const cert = await signCertificateRequest(ca, csrPem, identity, this.deps.lifetimeMs);
      this.stats.issued++;
      log.info({ new_serial: cert.serialNumber, not_after: cert.notAfter.toISOString() }, 'agent certificate renewed');
      return {
        body: {
          $case: 'certificate_issued',
          value: { certificate_pem: cert.toString('pem') + '\n', ca_pem: ca.cert.toString('pem') + '\n', serial: cert.serialNumber, not_after: cert.notAfter.toISOString() },
        },
      };
    } catch (err) {
      this.stats.refused++;
      const code = err instanceof CertificateRequestError ? err.code : 'SF_TLS_RENEWAL_FAILED';
      const message = err instanceof CertificateRequestError ? err.message : 'the hub could not sign the request';
      log.warn({ code, err: (err as Error).message }, 'agent certificate renewal refused');
      return { body: { $case: 'certificate_refused', value: { code, message } } };
    }
  }
}

/** The answer on a stream: a hub built without AgentCertificates refuses renewal. */
export function answerCertificateRequest(certificates: AgentCertificates | undefined, identity: PeerIdentity, serial: string, csrPem: string): Promise<HubMessage> {
  if (certificates) return certificates.renew(identity, serial, csrPem);
  return Promise.resolve({ body: { $case: 'certificate_refused', value: { code: 'SF_TLS_RENEWAL_DISABLED', message: 'this hub does not renew certificates' } } });
}
