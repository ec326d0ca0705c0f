// Single sign-on: an OIDC issuer (bearer JWTs and the browser login), a SAML 2.0 identity
// provider (browser login) and an LDAP / AD directory (password logins). All off unless configured.
import { z } from 'zod';
import { duration } from '../../shared/config/index.js';
import { ldapConfigSchema } from '../login/config.js';

const httpsUrl = z.string().regex(/^https:\/\/[^\s/]+(\/\S*)?$/, 'expected an https:// URL (the identity provider is reached over TLS only)');
/** A claim name, or a dotted path into nested claims (realm_access.roles). */
const claimPath = z.string().regex(/^[A-Za-z0-9_:-]+(\.[A-Za-z0-9_:-]+)*$/, 'a claim name or a dotted path such as realm_access.roles');
/** The hub's own callback URL as registered at the identity provider. */
const callbackUrl = z.string().regex(/^https:\/\/[^\s/]+\/\S*$/, 'expected the https:// URL of this hub\'s callback endpoint');

/** Asymmetric JWS algorithms only: `none` and HMAC (HS*) can never be configured. */
export const OIDC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

export const oidcConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    issuer: httpsUrl,
    client_id: z.string().min(1),
    /** Needed for the browser login (code exchange); bearer validation works without it. */
    client_secret: z.string().min(1).optional(),
    /** Accepted `aud` values; default: the client_id. */
    audience: z.array(z.string().min(1)).min(1).optional(),
    /** PEM bundle that signs the issuer's TLS certificate; default: the system trust store. */
    ca: z.string().min(1).optional(),
    algorithms: z.array(z.enum(OIDC_ALGORITHMS, { error: `one of ${OIDC_ALGORITHMS.join(', ')}: unsigned (none) and shared-secret (HS*) tokens are never accepted` })).min(1).default([...OIDC_ALGORITHMS]),
    /** Clock skew tolerated on exp / nbf / iat. */
    clock_skew: duration.refine((ms) => ms <= 300_000, 'at most 5m: a larger skew keeps expired tokens alive').default(30_000),
    /** Per request to the issuer (discovery, keys, code exchange). */
    timeout: duration.default(5_000),
    /** Longest wait between discovery retries while the issuer is unreachable. */
    retry_max_delay: duration.default(30_000),
    /** Signing keys are refetched after this long, and at once for an unknown key id (not more often than refetch_cooldown). */
    jwks_max_age: duration.default(600_000),
    jwks_refetch_cooldown: duration.default(30_000),
    claims: z
      .object({
        user: claimPath.default('preferred_username'),
        groups: claimPath.default('groups'),
        project: claimPath.default('project'),
      })
      .strict()
      .default({ user: 'preferred_username', groups: 'groups', project: 'project' }),
    scopes: z.array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'a scope token')).default(['openid', 'profile', 'email']),
    /** Default: https://<the Host the browser used>/api/v1/auth/oidc/callback. Set it behind a proxy. */
    redirect_uri: callbackUrl.optional(),
    /** How long a browser login stays valid. */
    session_ttl: duration.default(8 * 3_600_000),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.algorithms.length !== new Set(c.algorithms).size) ctx.addIssue({ code: 'custom', path: ['algorithms'], message: 'algorithms listed twice' });
  });

export const samlConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** The IdP's single sign-on URL (HTTP-Redirect binding). */
    idp_url: httpsUrl,
    /** PEM file with the IdP's signing certificate; assertions must be signed with its key. */
    certificate: z.string().min(1),
    /** This SP's entity ID (the assertion's Audience). */
    entity_id: z.string().min(1).default('sfleet'),
    /** The IdP's entity ID; when set, the assertion's Issuer must equal it. */
    idp_issuer: z.string().min(1).optional(),
    /** Default: https://<the Host the browser used>/api/v1/auth/saml/acs. */
    acs_url: callbackUrl.optional(),
    clock_skew: duration.refine((ms) => ms <= 300_000, 'at most 5m').default(30_000),
    attributes: z
      .object({
        /** Default: the assertion's NameID. */
        user: z.string().min(1).optional(),
        groups: z.string().min(1).default('groups'),
        project: z.string().min(1).default('project'),
      })
      .strict()
      .default({ groups: 'groups', project: 'project' }),
    session_ttl: duration.default(8 * 3_600_000),
  })
  .strict();

export const ssoConfigSchema = z
  .object({
    oidc: oidcConfigSchema.optional(),
    saml: samlConfigSchema.optional(),
    ldap: ldapConfigSchema.optional(),
  })
  .strict();

export type SsoConfig = z.infer<typeof ssoConfigSchema>;
export type OidcConfig = z.infer<typeof oidcConfigSchema>;
export type SamlConfig = z.infer<typeof samlConfigSchema>;
