// The hub's `sso.oidc:` section: an OIDC issuer for bearer JWTs and the browser login.
import { z } from 'zod';
import { duration } from '../../../shared/config/index.js';

export const httpsUrl = z.string().regex(/^https:\/\/[^\s/]+(\/\S*)?$/, 'expected an https:// URL (the identity provider is reached over TLS only)');
/** A claim name, or a dotted path into nested claims (realm_access.roles). */
const claimPath = z.string().regex(/^[A-Za-z0-9_:-]+(\.[A-Za-z0-9_:-]+)*$/, 'a claim name or a dotted path such as realm_access.roles');
/** The hub's own callback URL as registered at the identity provider. */
export const callbackUrl = z.string().regex(/^https:\/\/[^\s/]+\/\S*$/, "expected the https:// URL of this hub's callback endpoint");

/** Asymmetric JWS algorithms only: `none` and HMAC (HS*) can never be configured. */
export const OIDC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

export const oidcConfigSchema = z
  .object({
    enabled: z.boolean().default(true).describe('Off keeps the section but accepts no OIDC token or login.'),
    issuer: httpsUrl.describe("The issuer URL (https://); its /.well-known/openid-configuration is read at start and retried in the background."),
    client_id: z.string().min(1).describe("The hub's client ID at the issuer."),
    client_secret: z.string().min(1).optional().describe('Needed for the browser login (code exchange); bearer validation works without it.'),
    audience: z.array(z.string().min(1)).min(1).optional().describe('Accepted `aud` values; default: the client_id.'),
    ca: z.string().min(1).optional().describe("PEM bundle that signs the issuer's TLS certificate; default: the system trust store."),
    algorithms: z
      .array(z.enum(OIDC_ALGORITHMS, { error: `one of ${OIDC_ALGORITHMS.join(', ')}: unsigned (none) and shared-secret (HS*) tokens are never accepted` }))
      .min(1)
      .default([...OIDC_ALGORITHMS])
      .describe('Accepted JWS algorithms: asymmetric only, none and HS* can never be configured.'),
    clock_skew: duration.refine((ms) => ms <= 300_000, 'at most 5m: a larger skew keeps expired tokens alive').default(30_000).describe('Clock skew tolerated on exp / nbf / iat (at most 5m).'),
    timeout: duration.default(5_000).describe('Per request to the issuer (discovery, keys, code exchange).'),
    retry_max_delay: duration.default(30_000).describe('Longest wait between discovery retries while the issuer is unreachable.'),
    jwks_max_age: duration.default(600_000).describe('Signing keys are refetched after this long, and at once for an unknown key id.'),
    jwks_refetch_cooldown: duration.default(30_000).describe('Least time between two refetches of the signing keys.'),
    claims: z
      .object({
        user: claimPath.default('preferred_username').describe("The claim (or dotted path) holding the user's name."),
        groups: claimPath.default('groups').describe("The claim holding the user's groups."),
        project: claimPath.default('project').describe("The claim holding the user's project attribute."),
      })
      .strict()
      .default({ user: 'preferred_username', groups: 'groups', project: 'project' })
      .describe('Which token claims the principal is read from.'),
    scopes: z.array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'a scope token')).default(['openid', 'profile', 'email']).describe('Scopes the browser login asks for.'),
    redirect_uri: callbackUrl.optional().describe('Default: https://<the Host the browser used>/api/v1/auth/oidc/callback. Set it behind a proxy.'),
    session_ttl: duration.default(8 * 3_600_000).describe('How long a browser login stays valid.'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.algorithms.length !== new Set(c.algorithms).size) ctx.addIssue({ code: 'custom', path: ['algorithms'], message: 'algorithms listed twice' });
  });

export type OidcConfig = z.infer<typeof oidcConfigSchema>;
