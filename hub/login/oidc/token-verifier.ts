// Bearer JWTs from the OIDC issuer (access tokens in JWT form, ID tokens): signature by one of
// the issuer's published keys with an asymmetric algorithm, iss, aud, exp/nbf within the
// configured skew. Each refusal says exactly why, so a user (and the audit log) can tell an
// expired token from a token for another application.
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { FleetError, UnauthenticatedError } from '../../../shared/errors/index.js';
import type { OidcConfig } from './config.js';
import type { BearerVerifier, Principal } from '../../policy/index.js';
import type { OidcIssuer } from './issuer.js';

/** A compact JWS: three base64url parts, the header a JSON object (`eyJ` is `{"`). */
const JWT_SHAPE = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;

export function looksLikeJwt(credential: string): boolean {
  return JWT_SHAPE.test(credential);
}

const when = (seconds: unknown) => (typeof seconds === 'number' ? new Date(seconds * 1000).toISOString() : String(seconds));

export class OidcTokenValidator {
  constructor(
    private readonly config: OidcConfig,
    private readonly issuer: OidcIssuer,
  ) {}

  get audiences(): string[] {
    return this.config.audience ?? [this.config.client_id];
  }

  /** The verified claims, or UnauthenticatedError naming what is wrong. */
  async validate(token: string, opts: { audience?: string[] } = {}): Promise<JWTPayload> {
    const audience = opts.audience ?? this.audiences;
    let alg: string | undefined;
    let kid: string | undefined;
    try {
      ({ alg, kid } = decodeProtectedHeader(token));
    } catch (err) {
      throw new UnauthenticatedError(`malformed JWT: ${(err as Error).message}`);
    }
    if (!alg || alg.toLowerCase() === 'none') throw new UnauthenticatedError('unsigned JWT (alg "none") refused: tokens must be signed by the OIDC issuer');
    if (/^HS/i.test(alg)) throw new UnauthenticatedError(`JWT signed with ${alg} (a shared secret) refused: only the OIDC issuer's public-key signatures are accepted`);
    if (!(this.config.algorithms as string[]).includes(alg)) throw new UnauthenticatedError(`JWT algorithm ${alg} is not allowed (sso.oidc.algorithms: ${this.config.algorithms.join(', ')})`);
    try {
      const { payload } = await jwtVerify(token, this.issuer.getKey, {
        issuer: this.config.issuer,
        audience,
        algorithms: this.config.algorithms,
        clockTolerance: this.config.clock_skew / 1000,
        requiredClaims: ['exp'],
      });
      return payload;
    } catch (err) {
      throw explain(err, { issuer: this.config.issuer, audience, kid });
    }
  }
}

function explain(err: unknown, expected: { issuer: string; audience: string[]; kid?: string }): Error {
  if (err instanceof FleetError) return err; // the issuer is unreachable: not the token's fault
  if (err instanceof joseErrors.JWTExpired) return new UnauthenticatedError(`token expired at ${when(err.payload.exp)}`);
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    const p = err.payload;
    switch (err.claim) {
      case 'iss':
        return new UnauthenticatedError(`token issuer "${String(p.iss)}" is not the configured OIDC issuer "${expected.issuer}"`);
      case 'aud':
        return new UnauthenticatedError(`token audience ${JSON.stringify(p.aud ?? null)} is not this hub (expected one of ${JSON.stringify(expected.audience)})`);
      case 'nbf':
        return new UnauthenticatedError(`token not valid before ${when(p.nbf)}`);
      case 'iat':
        return new UnauthenticatedError(`token issued in the future (${when(p.iat)})`);
      default:
        return new UnauthenticatedError(err.reason === 'missing' ? `token has no "${err.claim}" claim` : `token claim "${err.claim}" is invalid`);
    }
  }
  if (err instanceof joseErrors.JWKSNoMatchingKey) return new UnauthenticatedError(`token signed by a key the OIDC issuer does not publish (kid ${JSON.stringify(expected.kid ?? null)})`);
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return new UnauthenticatedError(`token signature does not verify with the OIDC issuer's key (kid ${JSON.stringify(expected.kid ?? null)})`);
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return new UnauthenticatedError(`JWT algorithm not allowed: ${err.message}`);
  if (err instanceof joseErrors.JOSEError) return new UnauthenticatedError(`invalid JWT: ${err.message}`);
  return new UnauthenticatedError('invalid JWT');
}

/** Reads a claim by name or dotted path (realm_access.roles). */
function claimAt(payload: JWTPayload, path: string): unknown {
  let value: unknown = payload;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** The Principal of a verified token, by the sso.oidc.claims mapping. */
export function principalFromClaims(payload: JWTPayload, claims: OidcConfig['claims'], method: 'oidc' = 'oidc'): Principal {
  const user = claimAt(payload, claims.user);
  if (typeof user !== 'string' || user === '') throw new UnauthenticatedError(`token has no "${claims.user}" claim to name the user (sso.oidc.claims.user)`);
  const rawGroups = claimAt(payload, claims.groups);
  const groups = Array.isArray(rawGroups) ? rawGroups.filter((g): g is string => typeof g === 'string') : typeof rawGroups === 'string' ? [rawGroups] : [];
  const project = claimAt(payload, claims.project);
  const attributes: Record<string, string> = {};
  if (typeof project === 'string' && project !== '') attributes.project = project;
  return { name: user, method, role: 'user', groups, attributes };
}

/** `Authorization: Bearer <JWT>`; other credentials (sft_, sfs_) are left to their verifiers. */
export class OidcBearerVerifier implements BearerVerifier {
  readonly kind = 'oidc';
  constructor(
    private readonly validator: OidcTokenValidator,
    private readonly claims: OidcConfig['claims'],
  ) {}

  async verify(credential: string): Promise<Principal | undefined> {
    if (!looksLikeJwt(credential)) return undefined;
    return principalFromClaims(await this.validator.validate(credential), this.claims);
  }
}
