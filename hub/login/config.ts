// The hub's `auth:` (MFA, local users, sessions, login rate limits) and `sso.ldap:` sections
// (hub/config/schema.ts puts ldap beside oidc and saml).
// Unknown keys are errors; defaults are filled here.
import { z } from 'zod';
import { duration } from '../../shared/config/index.js';
import { cidr } from './cidr.js';
import { smartCardConfigSchema } from './smart-card/config.js';

const roleName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, 'a role name: letters, digits and . _ : -');
/** An LDAP attribute description (RFC 4512 descr): a letter, then letters, digits and dashes. */
const ldapAttr = z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,63}$/, 'an LDAP attribute name, e.g. uid or sAMAccountName');
const dn = z.string().min(3).max(1024).regex(/=/, 'a DN, e.g. ou=people,dc=company,dc=com');

export const totpProviderSchema = z
  .object({
    type: z.literal('totp').describe('totp: codes from an authenticator app (RFC 6238).'),
    issuer: z.string().min(1).max(64).default('sfleet').describe('Shown in the authenticator app next to the account.'),
    window: z.number().int().min(0).max(3).default(1).describe('Codes of this many periods before and after now are accepted (clock drift).'),
  })
  .strict();

/** WebAuthn (security keys, platform authenticators) as a second factor of password logins. */
export const webauthnProviderSchema = z
  .object({
    type: z.literal('webauthn').describe('webauthn: security keys and platform authenticators.'),
    rp_id: z.string().min(1).max(253).regex(/^[A-Za-z0-9.-]+$/, 'a host name, e.g. fleet.example.com').describe('The relying party ID: the hub\'s host name as browsers see it (a registrable domain suffix of it).'),
    rp_name: z.string().min(1).max(64).default('sfleet').describe('Shown by the browser when a key is registered.'),
    origins: z.array(z.string().regex(/^https:\/\/[^\s/]+$/, 'an https origin without a path, e.g. https://fleet.example.com:8443')).min(1).max(16).describe('Origins the dashboard is served from, e.g. https://fleet.example.com:8443; a response signed for any other is refused.'),
    challenge_ttl: duration.refine((ms) => ms >= 10_000 && ms <= 600_000, 'between 10s and 10m').default(120_000).describe('How long a browser has to answer a challenge (10s to 10m).'),
  })
  .strict();

export type WebauthnProviderConfig = z.infer<typeof webauthnProviderSchema>;

/**
 * The brief's `type: "hardware"` (FIDO2 security keys) with `challenge_timeout`: the WebAuthn
 * factor under the brief's names. rp_id and origins may be left out: the hub takes them from
 * http.allowed_origins (hub/config/schema.ts fills them in).
 */
export const hardwareProviderSchema = z
  .object({
    type: z.literal('hardware').describe('hardware: FIDO2 security keys, the webauthn factor under the brief\'s name.'),
    challenge_timeout: webauthnProviderSchema.shape.challenge_ttl.describe('How long a browser has to answer a challenge (10s to 10m): challenge_ttl of webauthn.'),
    rp_id: webauthnProviderSchema.shape.rp_id.optional().describe("The relying party ID; default: the host of the first https origin of http.allowed_origins."),
    rp_name: webauthnProviderSchema.shape.rp_name,
    origins: webauthnProviderSchema.shape.origins.optional().describe('Origins the dashboard is served from; default: the https origins of http.allowed_origins.'),
  })
  .strict();

export const authConfigSchema = z
  .object({
    mfa: z
      .object({
        enabled: z.boolean().default(false).describe('Ask for a second factor where the required_* keys say so.'),
        providers: z
          .array(
            z.discriminatedUnion('type', [totpProviderSchema, webauthnProviderSchema, hardwareProviderSchema], {
              error: (iss) => (iss.code === 'invalid_union' ? 'type "totp", "webauthn", or "hardware" (FIDO2 keys: the webauthn factor under the brief\'s name)' : undefined),
            }),
          )
          .min(1)
          .max(2)
          .refine((ps) => new Set(ps.map((p) => (p.type === 'hardware' ? 'webauthn' : p.type))).size === ps.length, 'at most one provider of each kind: totp, and webauthn or hardware (the same factor)')
          .default([{ type: 'totp', issuer: 'sfleet', window: 1 }]).describe('TOTP and/or WebAuthn (type webauthn or hardware), at most one of each.'),
        required_roles: z.array(roleName).default([]).describe('Users holding one of these RBAC roles must give a second factor.'),
        required_groups: z.array(z.string().min(1).max(256)).default([]).describe('Users in one of these directory groups must give a second factor.'),
        required_for_local: z.boolean().default(false).describe('Every local (break-glass) user must give a second factor.'),
      })
      .strict()
      .prefault({}).describe('Second factors of password logins.'),
    local: z.object({ enabled: z.boolean().default(true).describe('Local users may log in.') }).strict().prefault({}).describe('Local users of data_dir/users.json (sfleet user add).'),
    session: z
      .object({
        ttl: duration.refine((ms) => ms >= 60_000 && ms <= 30 * 86_400_000, 'between 1m and 30d').default(12 * 3_600_000).describe('How long a session lasts (1m to 30d).'),
        revalidate: duration
          .refine((ms) => ms >= 1_000 && ms <= 86_400_000, 'between 1s and 1d')
          .default(15 * 60_000)
          .describe('How often a directory or single sign-on session re-checks its account (1s to 1d). LDAP: looked up by the service account (sso.ldap.bind_dn); OIDC: the refresh token kept with the session is spent at the issuer (a session without one lasts this long at most); SAML (no back channel): the session lasts this long at most. A removed or disabled account loses its sessions and open watches; changed groups change its roles.'),
        store: z.enum(['auto', 'file', 'redis', 'memory']).default('auto').describe('Where sessions are kept. auto: Redis when the hub has a redis section (a hub group shares sessions), else file.'),
      })
      .strict()
      .prefault({}).describe('Login sessions (bearer session tokens and the dashboard cookie).'),
    rate_limit: z
      .object({
        max_failures_per_user: z.number().int().min(1).max(1000).default(5).describe('Failed logins of one user name within window before it is locked out.'),
        max_failures_per_ip: z.number().int().min(1).max(100_000).default(20).describe('Failed logins from one address within window before it is locked out.'),
        window: duration.refine((ms) => ms >= 1_000, 'at least 1s').default(15 * 60_000).describe('The window failures are counted in.'),
        lockout: duration.refine((ms) => ms >= 1_000, 'at least 1s').default(15 * 60_000).describe('How long a locked-out user name or address stays locked.'),
        max_failures_per_source: z.number().int().min(1).max(1000).default(3).describe('Failed logins of one user name from one address within source_backoff before that address is backed off for that user (before the user itself is locked out).'),
        source_backoff: duration.refine((ms) => ms >= 1_000, 'at least 1s').default(60_000).describe('The window of max_failures_per_source, and how long the address waits once it is reached.'),
        trusted_sources: z.array(cidr).max(1000).default([]).describe('Addresses (CIDRs) exempt from the per-address limits: login nodes and bastions with many users behind one address. The per-user limit still applies.'),
      })
      .strict()
      .prefault({}).describe('Lockout after failed logins.'),
    password_hashing: z
      .object({
        threads: z
          .number()
          .int()
          .min(1)
          .max(64)
          .optional()
          .describe('Password hashes (scrypt, about 128 MiB and a few hundred ms of one core each) checked at once, each on a thread of its own at the lowest priority. Default: one less than the cores, at least 1 and at most 2, so a flood of logins always leaves a core to the rest of the hub.'),
        queue: z.number().int().min(1).max(10_000).default(64).describe('Password checks waiting for a thread; beyond it a login is refused at once with 503 SF_AUTH_HASH_POOL_BUSY.'),
      })
      .strict()
      .prefault({})
      .describe('The password-hash threads of local-user logins.'),
    smart_card: smartCardConfigSchema.optional().describe('Smart-card (PKI) logins: person certificates of an enterprise CA, asked for on a listener of their own (hub/login/smart-card/).'),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.mfa.enabled) return;
    const set = a.mfa.required_roles.length > 0 || a.mfa.required_groups.length > 0 || a.mfa.required_for_local;
    if (set) ctx.addIssue({ code: 'custom', path: ['mfa', 'enabled'], message: 'MFA requirements are set but mfa.enabled is false: enable it or remove them' });
  });

export const ldapConfigSchema = z
  .object({
    url: z.string().regex(/^ldaps?:\/\/[^\s/]+\/?$/, 'expected ldap://host:port or ldaps://host:port').describe('ldap://host:port or ldaps://host:port.'),
    start_tls: z.boolean().default(false).describe('Upgrade an ldap:// connection with StartTLS before any bind.'),
    ca_file: z.string().min(1).optional().describe('CA bundle (PEM) that signs the server\'s certificate; default: the system CAs.'),
    connect_timeout: duration.default(5_000).describe('Per connection attempt.'),
    timeout: duration.default(5_000).describe('Per LDAP operation.'),
    bind_dn: dn.optional().describe('Search-then-bind: the service account that finds users (and reads groups).'),
    bind_password_file: z.string().min(1).optional().describe('A file holding the service account\'s password.'),
    bind_password_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name').optional().describe('The name of an environment variable holding the service account\'s password.'),
    user_base_dn: dn.optional().describe('Where the user search starts.'),
    user_attr: ldapAttr.default('uid').describe('The login name\'s attribute: uid (OpenLDAP) or sAMAccountName (Active Directory).'),
    user_filter: z.string().regex(/^\(.*\)$/, 'an LDAP filter in parentheses').default('(objectClass=*)').describe('ANDed with (user_attr=name) when searching, e.g. (objectClass=person).'),
    user_dn_template: z.string().regex(/\{username\}/, 'must contain {username}').optional().describe('Direct bind instead of a search: "uid={username},ou=people,dc=company,dc=com".'),
    groups: z
      .object({
        lookup: z.enum(['member_of', 'search', 'none']).default('member_of').describe('member_of: the user\'s memberOf values; search: groups whose member attribute names the user; none.'),
        member_of_attr: ldapAttr.default('memberOf').describe('The user attribute that lists its groups (lookup member_of).'),
        base_dn: dn.optional().describe('Where the group search starts (lookup search).'),
        filter: z.string().regex(/^\(.*\)$/, 'an LDAP filter in parentheses').default('(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=group))').describe('Which entries are groups (lookup search).'),
        member_attrs: z.array(ldapAttr).min(1).default(['member', 'uniqueMember']).describe('Group attributes naming members: member/uniqueMember hold the user\'s DN, memberUid the login name.'),
        name_attr: ldapAttr.default('cn').describe('The group attribute used as the group\'s name.'),
      })
      .strict()
      .prefault({}).describe('How a user\'s groups are found.'),
    attributes: z.record(z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'snake_case'), ldapAttr).default({}).describe('Principal attributes from directory attributes, e.g. { project: departmentNumber }.'),
  })
  .strict()
  .superRefine((l, ctx) => {
    if (l.url.startsWith('ldaps://') && l.start_tls) ctx.addIssue({ code: 'custom', path: ['start_tls'], message: 'ldaps:// is TLS already: StartTLS is for ldap:// URLs' });
    if (l.bind_password_file && l.bind_password_env) ctx.addIssue({ code: 'custom', path: ['bind_password_env'], message: 'set bind_password_file or bind_password_env, not both' });
    if (l.bind_dn && !l.bind_password_file && !l.bind_password_env) ctx.addIssue({ code: 'custom', path: ['bind_dn'], message: 'the service bind needs bind_password_file or bind_password_env' });
    if (!l.user_dn_template && !(l.bind_dn && l.user_base_dn)) {
      ctx.addIssue({ code: 'custom', path: ['user_dn_template'], message: 'say how users are found: bind_dn + user_base_dn (search, then bind) or user_dn_template (direct bind)' });
    }
    if (l.groups.lookup === 'search' && !l.groups.base_dn) ctx.addIssue({ code: 'custom', path: ['groups', 'base_dn'], message: 'a group search needs groups.base_dn' });
  });

export type AuthConfig = z.infer<typeof authConfigSchema>;

export function totpProvider(auth: AuthConfig): z.infer<typeof totpProviderSchema> | undefined {
  return auth.mfa.providers.find((p) => p.type === 'totp');
}

/** The WebAuthn factor, whether configured as webauthn or as the brief's hardware. */
export function webauthnProvider(auth: AuthConfig): WebauthnProviderConfig | undefined {
  for (const p of auth.mfa.providers) {
    if (p.type === 'webauthn') return p;
    // rp_id and origins were filled in from http.allowed_origins at load when left out.
    if (p.type === 'hardware' && p.rp_id && p.origins) return { type: 'webauthn', rp_id: p.rp_id, rp_name: p.rp_name, origins: p.origins, challenge_ttl: p.challenge_timeout };
  }
  return undefined;
}

/**
 * A hardware provider without rp_id or origins takes them from http.allowed_origins (its https
 * origins; the RP ID is the first one's host). Undefined when there is nothing to take them from.
 */
export function hardwareKeyFromOrigins(auth: AuthConfig, allowedOrigins: readonly string[]): AuthConfig | undefined {
  const i = auth.mfa.providers.findIndex((p) => p.type === 'hardware' && (!p.rp_id || !p.origins));
  if (i < 0) return auth;
  const https = allowedOrigins.filter((o) => o.startsWith('https://'));
  if (https.length === 0) return undefined;
  const p = auth.mfa.providers[i] as z.infer<typeof hardwareProviderSchema>;
  const filled = { ...p, rp_id: p.rp_id ?? new URL(https[0]).hostname, origins: p.origins ?? https.slice(0, 16) };
  return { ...auth, mfa: { ...auth.mfa, providers: auth.mfa.providers.map((q, n) => (n === i ? filled : q)) } };
}
export type LdapConfig = z.infer<typeof ldapConfigSchema>;
