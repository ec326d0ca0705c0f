// The smart-card login. TLS 1.3 has no renegotiation, so the API listener cannot ask for a card
// halfway through a connection; a second HTTPS listener (auth.smart_card.listen) asks every
// browser for a client certificate, trusting only the enterprise CA (never the fleet CA), and
// answers only GET /api/v1/auth/smart-card/login. Its requests go through the API's own fastify
// instance (the gate, the audit hooks, problem+json), so a card login is audited as every other
// login. The same path on the API listener sends the browser over to the card listener.
//
// The handshake does not refuse a card (rejectUnauthorized: false): a refused handshake shows
// the browser's own error page, while a 401 from the route says why (no card, another CA, revoked).
import { X509Certificate } from 'node:crypto';
import { createServer, type Server as HttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BadRequestError } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import { tlsVersionOptions, type TlsPolicy } from '../../../shared/tls/index.js';
import { setAuditContext } from '../../audit/index.js';
import type { Principal } from '../../policy/index.js';
import { nextFromQuery, sendLoggedIn } from '../oidc/index.js';
import type { SessionStore } from '../sessions/index.js';
import type { AccountLookup } from '../sessions/session-revalidation.js';
import { watchFiles } from '../../tls/index.js';
import { cardUser, hiddenByInvalidPurpose, keyUsageProblem, SmartCardRefusedError } from './card-user.js';
import { readCardTrust, type CardTrust } from './card-trust.js';
import type { SmartCardConfig } from './config.js';

export const SMART_CARD_LOGIN_PATH = '/api/v1/auth/smart-card/login';

/** OpenSSL's verification results a person can act on, in words. */
const REASONS: Record<string, string> = {
  CERT_REVOKED: 'the card\'s certificate is revoked (it is on the CRL of auth.smart_card.crl_file)',
  UNABLE_TO_GET_ISSUER_CERT: 'the card\'s certificate is not issued by a CA of auth.smart_card.ca_file',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the card\'s certificate is not issued by a CA of auth.smart_card.ca_file',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the card\'s certificate is self-signed, not issued by a CA of auth.smart_card.ca_file',
  SELF_SIGNED_CERT_IN_CHAIN: 'the card\'s chain ends in a CA that is not in auth.smart_card.ca_file',
  CERT_HAS_EXPIRED: 'the card\'s certificate has expired',
  CERT_NOT_YET_VALID: 'the card\'s certificate is not valid yet',
  CRL_HAS_EXPIRED: 'the CRL of auth.smart_card.crl_file is past its next update: no card is accepted until it is renewed',
  UNABLE_TO_GET_CRL: 'no CRL of the card\'s issuing CA is in auth.smart_card.crl_file',
  CRL_SIGNATURE_FAILURE: 'the CRL of auth.smart_card.crl_file is not signed by the card\'s CA',
};

/** The API listener's timeouts (http.header_timeout, body_timeout, keep_alive_idle), in ms. */
export interface CardListenerTimeouts {
  handshakeTimeout: number;
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
}

export interface SmartCardDeps {
  logger: Logger;
  sessions: SessionStore;
  /** auth.session.ttl (a card session lasts session_ttl when set). */
  sessionTtlMs: number;
  /** The hub's own certificate and key (the card listener serves as the hub). */
  cert: Buffer;
  key: Buffer;
  policy?: TlsPolicy;
}

export class SmartCardLogin {
  private trust: CardTrust;
  private server?: HttpsServer;
  private cardPort?: number;
  private apiPort?: number;
  private readonly sockets = new WeakSet<object>();
  private stopWatch?: () => void;
  private serving: { cert: Buffer; key: Buffer };
  private readonly logger: Logger;
  readonly stats = { reloads: 0, refused: 0 };

  constructor(
    private readonly config: SmartCardConfig,
    private readonly deps: SmartCardDeps,
  ) {
    this.trust = readCardTrust(config);
    this.serving = { cert: deps.cert, key: deps.key };
    this.logger = deps.logger.child({ component: 'smart-card' });
  }

  /** The serials on the CRL now. */
  revoked(serial: string): boolean {
    return this.trust.revoked.has(serial);
  }

  /** Ends a card session whose card has since landed on the CRL (auth.session.revalidate). */
  readonly revalidator: AccountLookup = {
    lookup: async (name, _session, current) => (current.attributes.card_serial && this.revoked(current.attributes.card_serial) ? undefined : { name, groups: current.groups, attributes: current.attributes }),
  };

  registerRoutes(app: FastifyInstance): void {
    const query = { type: 'object', properties: { next: { type: 'string', maxLength: 1024, description: 'A path of the dashboard to land on once logged in' } }, additionalProperties: false } as const;
    app.get(
      SMART_CARD_LOGIN_PATH,
      { config: { public: true, audit_action: 'auth:login' }, schema: { summary: 'Smart-card login: on the card listener (auth.smart_card.listen), the client certificate becomes a session (cookie, or JSON for tools); on the API listener, a redirect there', querystring: query } },
      async (request, reply) => {
        const next = nextFromQuery((request.query as { next?: string }).next);
        if (!this.sockets.has(request.raw.socket)) {
          // The API listener asks for no card: send the browser to the one that does.
          return reply.header('cache-control', 'no-store').redirect(`https://${this.hostOf(request)}:${this.cardPort}${SMART_CARD_LOGIN_PATH}${next ? `?next=${encodeURIComponent(next)}` : ''}`, 302);
        }
        setAuditContext(request, { auth_method: 'smart_card', resource: 'session' });
        let principal: Principal;
        try {
          principal = this.principalOf(request);
        } catch (err) {
          // The caller hears the reason too (it names the card, not a secret); the log keeps it for the admin.
          if (err instanceof SmartCardRefusedError) this.logger.info({ reason: err.message, remote: request.ip, subject: this.subjectOf(request) }, 'smart-card login refused');
          throw err;
        }
        setAuditContext(request, { user: principal.name });
        const ttlMs = this.config.session_ttl ?? this.deps.sessionTtlMs;
        const token = await this.deps.sessions.create(principal, ttlMs);
        this.logger.info({ user: principal.name, serial: principal.attributes.card_serial }, 'smart-card login');
        const origin = this.config.dashboard_url ?? `https://${this.hostOf(request)}:${this.apiPort}`;
        return sendLoggedIn(request, reply, { token, ttlMs, user: principal.name, groups: principal.groups, ...(next ? { next } : {}), origin });
      },
    );
  }

  /**
   * Opens the card listener; its requests are served by `app` (which must be ready). It faces
   * browsers before any login, so it gets the API listener's timeouts and connection caps
   * (`guard`), or a flood of silent handshakes could hold the hub's descriptors.
   */
  async listen(app: FastifyInstance, apiPort: number, timeouts: CardListenerTimeouts, guard: (server: HttpsServer) => void): Promise<string> {
    this.apiPort = apiPort;
    const server = createServer({ ...this.contextOptions(), requestCert: true, rejectUnauthorized: false, ...timeouts }, (req, res) => {
      // Only the login: every other path of the API stays on the API listener.
      if ((req.url ?? '').split('?')[0] !== SMART_CARD_LOGIN_PATH) {
        res.writeHead(404, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ type: 'about:blank', title: 'Not Found', status: 404, code: 'SF_NOT_FOUND', detail: `this listener serves only ${SMART_CARD_LOGIN_PATH}` }));
        return;
      }
      app.routing(req, res);
    });
    guard(server);
    server.on('secureConnection', (socket) => this.sockets.add(socket));
    // A handshake that fails (no TLS 1.3, garbage) is the client's problem, never the hub's.
    server.on('tlsClientError', (err) => this.logger.debug({ err: err.message }, 'smart-card listener: handshake failed'));
    const { host, port } = splitHostPort(this.config.listen);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new Error(`auth.smart_card.listen ${this.config.listen}: ${err.message}`)));
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    const address = server.address();
    this.cardPort = typeof address === 'object' && address ? address.port : port;
    if (this.config.crl_file) this.stopWatch = watchFiles([this.config.ca_file, this.config.crl_file], () => this.reload());
    const url = `https://${host.includes(':') ? `[${host}]` : host}:${this.cardPort}`;
    this.logger.info({ url, cas: this.trust.ca.length, revoked: this.trust.revoked.size }, 'smart-card login listening');
    return url;
  }

  /** The hub's certificate rotated: new handshakes of the card listener get it too. */
  setHubCertificate(cert: Buffer, key: Buffer): void {
    this.serving = { cert, key };
    this.server?.setSecureContext(this.contextOptions());
  }

  /** Reads ca_file and crl_file again; answers whether the new lists are in force. */
  reload(): boolean {
    try {
      this.trust = readCardTrust(this.config);
    } catch (err) {
      this.stats.refused++;
      this.logger.error({ err: (err as Error).message }, 'smart-card trust files refused; the last good CA and CRL stay');
      return false;
    }
    this.server?.setSecureContext(this.contextOptions());
    this.stats.reloads++;
    this.logger.info({ revoked: this.trust.revoked.size, next_update: this.trust.nextUpdate?.toISOString() }, 'smart-card CA and CRL reloaded');
    return true;
  }

  async close(): Promise<void> {
    this.stopWatch?.();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private contextOptions() {
    // setSecureContext resets every option it is not given: TLS 1.3 only comes again each time.
    return { cert: this.serving.cert, key: this.serving.key, ca: this.trust.ca, ...(this.trust.crl.length ? { crl: this.trust.crl } : {}), ...tlsVersionOptions(this.deps.policy) };
  }

  private principalOf(request: FastifyRequest): Principal {
    const socket = request.raw.socket as TLSSocket;
    const peer = socket.getPeerCertificate();
    if (!peer || !peer.raw) throw new SmartCardRefusedError('no client certificate was presented: insert the smart card (and let the browser use it for this site)');
    // Said first: a chain of another CA can fail later checks too (the CRL), and OpenSSL names only the last.
    if (!this.issuedByTrustedCa(peer.raw)) throw new SmartCardRefusedError(REASONS.UNABLE_TO_GET_ISSUER_CERT!);
    // Checked here, not left to OpenSSL: it lets a certificate without the extension through
    // (any purpose), and refuses a smart-card-logon-only one as not a TLS client (INVALID_PURPOSE).
    const usage = keyUsageProblem(peer.raw, this.config.extended_key_usage);
    if (usage) throw new SmartCardRefusedError(usage);
    const code = String(socket.authorizationError ?? 'unknown');
    // OpenSSL checks revocation, signatures and times after the purpose (its last error is the
    // result), so INVALID_PURPOSE means those passed; the issuer and the usage were checked above.
    if (!socket.authorized && code !== 'INVALID_PURPOSE') {
      throw new SmartCardRefusedError(`${REASONS[code] ?? `the card's certificate is not trusted (${code})`}`);
    }
    if (code === 'INVALID_PURPOSE') {
      const hidden = hiddenByInvalidPurpose(peer.raw);
      if (hidden) throw new SmartCardRefusedError(hidden);
    }
    const user = cardUser(peer.raw, this.config);
    // OpenSSL has checked the CRL it was given; a serial listed since (reloaded between handshake and request) counts too.
    if (this.revoked(user.serial)) throw new SmartCardRefusedError(REASONS.CERT_REVOKED!);
    return { name: user.name, method: 'smart_card', role: 'user', groups: [...this.config.groups], attributes: { card_serial: user.serial } };
  }

  private subjectOf(request: FastifyRequest): string | undefined {
    const peer = (request.raw.socket as TLSSocket).getPeerCertificate?.();
    return peer?.raw ? new X509Certificate(peer.raw).subject.replace(/\n/g, ', ') : undefined;
  }

  /** The card's issuer is a CA of ca_file (which holds the intermediates too). */
  private issuedByTrustedCa(der: Buffer): boolean {
    const cert = new X509Certificate(der);
    return this.trust.ca.some((pem) => {
      const ca = new X509Certificate(pem);
      return cert.checkIssued(ca) && cert.verify(ca.publicKey);
    });
  }

  private hostOf(request: FastifyRequest): string {
    const host = request.headers.host ?? '';
    const m = /^([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\])(:\d{1,5})?$/.exec(host);
    if (!m) throw new BadRequestError('cannot tell the hub\'s address from this Host header: set auth.smart_card.dashboard_url');
    return m[1]!;
  }
}

function splitHostPort(value: string): { host: string; port: number } {
  const i = value.lastIndexOf(':');
  return { host: value.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(value.slice(i + 1)) };
}
