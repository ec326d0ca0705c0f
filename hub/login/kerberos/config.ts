// `sso.kerberos`: SPNEGO logins with a ticket from the site's KDC (MIT or Active Directory).
import { z } from 'zod';
import { duration } from '../../../shared/config/fields.js';

export const kerberosConfigSchema = z
  .object({
    enabled: z.boolean().default(true).describe('Accept Kerberos (SPNEGO) logins at POST /api/v1/auth/kerberos, and the dashboard\'s "Sign in with Kerberos" (GET /api/v1/auth/kerberos/login).'),
    keytab_file: z.string().min(1).describe("The service's keytab (kadmin ktadd -k FILE HTTP/hub.example.org): read at start; readable by the hub only."),
    service_principals: z
      .array(z.string().regex(/^[^@\s]+\/[^@\s]+$/, 'a service principal without realm, e.g. HTTP/hub.example.org'))
      .default([])
      .describe('Accept tickets for these services only (default: every principal in the keytab).'),
    realms: z
      .array(z.string().regex(/^[A-Za-z0-9.-]+$/, 'a realm, e.g. EXAMPLE.ORG'))
      .default([])
      .describe("Client realms whose users may log in (default: the keytab's realms). The user name is the principal without its realm."),
    clock_skew: duration.default(300_000).describe('How far a client clock may be off (Kerberos default 5m); also how long the replay cache keeps an authenticator.'),
    session_ttl: duration.default(8 * 3_600_000).describe('How long a Kerberos login session lasts (at most auth.session.revalidate when the directory re-checks it).'),
    require_directory_account: z
      .boolean()
      .default(true)
      .describe('With sso.ldap configured: the user must have a directory account (its groups become the session\'s groups, as for an LDAP login). Without sso.ldap: no groups.'),
  })
  .strict();

export type KerberosConfig = z.infer<typeof kerberosConfigSchema>;
