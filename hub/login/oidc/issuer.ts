// The OIDC issuer as the hub sees it: its discovery document and its signing keys.
// Discovery runs in the background with backoff, so an unreachable issuer never stops the hub
// from starting (other sign-in methods keep working; /readyz says what is wrong). Keys are
// cached, refreshed after jwks_max_age and refetched at once for an unknown key id, which is
// how a key rollover at the issuer reaches the hub without a restart.
import { status as GrpcStatus } from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, errors as joseErrors, type FlattenedJWSInput, type JSONWebKeySet, type JWSHeaderParameters } from 'jose';
import { FleetError, UnavailableError } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import type { OidcConfig } from './config.js';
import { issuerRequest, type IssuerHttpOptions } from './issuer-http.js';

export class IdpUnavailableError extends UnavailableError {
  constructor(message: string) {
    super('SF_AUTH_IDP_UNAVAILABLE', message);
  }
}

/** The identity provider answered, but not as the protocol says (bad discovery, code exchange refused). */
export class IdpResponseError extends FleetError {
  constructor(message: string) {
    super('SF_AUTH_IDP_BAD_RESPONSE', message, 502, GrpcStatus.UNAVAILABLE);
  }
}

export interface IssuerMetadata {
  issuer: string;
  jwks_uri: string;
  authorization_endpoint?: string;
  token_endpoint?: string;
  userinfo_endpoint?: string;
  token_endpoint_auth_methods_supported?: string[];
  code_challenge_methods_supported?: string[];
}

type KeyLookup = ReturnType<typeof createLocalJWKSet>;

/** Repeated on-demand discovery attempts while unreachable are spaced at least this far apart. */
const ON_DEMAND_SPACING_MS = 1_000;

export class OidcIssuer {
  readonly http: IssuerHttpOptions;
  private metadata?: IssuerMetadata;
  private lastError?: string;
  private lastAttempt = 0;
  private discovering?: Promise<IssuerMetadata>;
  private retryTimer?: NodeJS.Timeout;
  private retryDelay = 500;
  private closed = false;
  private keys?: { lookup: KeyLookup; fetchedAt: number };
  private keysFetching?: Promise<KeyLookup>;
  private lastKeysAttempt = 0;

  constructor(
    readonly config: OidcConfig,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.http = { ca: config.ca ? readFileSync(config.ca, 'utf8') : undefined, timeoutMs: config.timeout };
  }

  get discoveryUrl(): string {
    return `${this.config.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  }

  /** Starts background discovery; retries with backoff until the issuer answers. */
  start(): void {
    void this.discover().catch(() => this.scheduleRetry());
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
  }

  /** For /readyz. */
  status(): string {
    if (this.metadata) return `ready (issuer ${this.config.issuer}${this.lastError ? `; last key refresh failed: ${this.lastError}` : ''})`;
    return `issuer unreachable: ${this.lastError ?? 'discovery in progress'}; retrying`;
  }

  /** The discovery document, fetched now if the background discovery has not succeeded yet. */
  async ready(): Promise<IssuerMetadata> {
    if (this.metadata) return this.metadata;
    if (!this.discovering && this.now() - this.lastAttempt < ON_DEMAND_SPACING_MS && this.lastError) {
      throw new IdpUnavailableError(`OIDC issuer ${this.config.issuer} is unreachable: ${this.lastError}`);
    }
    try {
      return await this.discover();
    } catch (err) {
      throw err instanceof FleetError ? err : new IdpUnavailableError(`OIDC issuer ${this.config.issuer} is unreachable: ${(err as Error).message}`);
    }
  }

  /** Key resolver for jose's jwtVerify. */
  readonly getKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
    await this.ready();
    let lookup: KeyLookup;
    if (!this.keys) lookup = await this.fetchKeys();
    else if (this.now() - this.keys.fetchedAt > this.config.jwks_max_age) lookup = await this.fetchKeys().catch(() => this.keys!.lookup);
    else lookup = this.keys.lookup;
    try {
      return await lookup(header, token);
    } catch (err) {
      if (!(err instanceof joseErrors.JWKSNoMatchingKey)) throw err;
      // An unknown key id: the issuer may have rolled its keys over. Ask again, not too often.
      if (this.now() - this.lastKeysAttempt < this.config.jwks_refetch_cooldown) throw err;
      return (await this.fetchKeys())(header, token);
    }
  };

  private discover(): Promise<IssuerMetadata> {
    this.discovering ??= (async () => {
      this.lastAttempt = this.now();
      try {
        const doc = (await issuerRequest(this.discoveryUrl, this.http)) as Partial<IssuerMetadata>;
        const metadata = checkMetadata(doc, this.config.issuer);
        this.metadata = metadata;
        this.lastError = undefined;
        clearTimeout(this.retryTimer);
        this.logger.info({ issuer: metadata.issuer }, 'OIDC issuer discovered');
        return metadata;
      } catch (err) {
        this.lastError = (err as Error).message;
        this.logger.warn({ issuer: this.config.issuer, err: this.lastError }, 'OIDC discovery failed');
        throw err;
      } finally {
        this.discovering = undefined;
      }
    })();
    return this.discovering;
  }

  private scheduleRetry(): void {
    if (this.closed || this.metadata) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.discover().catch(() => this.scheduleRetry()), this.retryDelay);
    this.retryTimer.unref();
    this.retryDelay = Math.min(this.retryDelay * 2, this.config.retry_max_delay);
  }

  private fetchKeys(): Promise<KeyLookup> {
    this.keysFetching ??= (async () => {
      this.lastKeysAttempt = this.now();
      try {
        const jwks = (await issuerRequest(this.metadata!.jwks_uri, this.http)) as JSONWebKeySet;
        if (!Array.isArray(jwks.keys)) throw new IdpResponseError(`${this.metadata!.jwks_uri} is not a JSON Web Key Set (no "keys" array)`);
        const lookup = createLocalJWKSet(jwks);
        this.keys = { lookup, fetchedAt: this.now() };
        this.lastError = undefined;
        return lookup;
      } catch (err) {
        this.lastError = (err as Error).message;
        this.logger.warn({ issuer: this.config.issuer, err: this.lastError }, 'fetching the OIDC signing keys failed');
        if (err instanceof FleetError) throw err;
        throw new IdpUnavailableError(`cannot fetch the signing keys of OIDC issuer ${this.config.issuer}: ${this.lastError}`);
      } finally {
        this.keysFetching = undefined;
      }
    })();
    return this.keysFetching;
  }
}

function checkMetadata(doc: Partial<IssuerMetadata>, issuer: string): IssuerMetadata {
  // OpenID Connect Discovery 1.0 §4.3: the document's issuer must be exactly the configured one.
  if (doc.issuer !== issuer) throw new IdpResponseError(`the discovery document names issuer "${String(doc.issuer)}", expected "${issuer}"`);
  for (const key of ['jwks_uri', 'authorization_endpoint', 'token_endpoint', 'userinfo_endpoint'] as const) {
    const value = doc[key];
    if (value === undefined && key !== 'jwks_uri') continue;
    if (typeof value !== 'string' || !value.startsWith('https://')) throw new IdpResponseError(`the discovery document's ${key} must be an https:// URL`);
  }
  return doc as IssuerMetadata;
}
