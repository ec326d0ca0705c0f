// The hub's `sso.saml:` section: a SAML 2.0 identity provider for the browser login.
import { z } from 'zod';
import { duration } from '../../../shared/config/index.js';
import { callbackUrl, httpsUrl } from '../oidc/config.js';

export const samlConfigSchema = z
  .object({
    enabled: z.boolean().default(true).describe('Off keeps the section but offers no SAML login.'),
    idp_url: httpsUrl.describe("The IdP's single sign-on URL (HTTP-Redirect binding)."),
    certificate: z.string().min(1).describe("PEM file with the IdP's signing certificate; assertions must be signed with its key."),
    entity_id: z.string().min(1).default('sfleet').describe("This SP's entity ID (the assertion's Audience)."),
    idp_issuer: z.string().min(1).optional().describe("The IdP's entity ID; when set, the assertion's Issuer must equal it."),
    acs_url: callbackUrl.optional().describe('Default: https://<the Host the browser used>/api/v1/auth/saml/acs.'),
    clock_skew: duration.refine((ms) => ms <= 300_000, 'at most 5m').default(30_000).describe("Clock skew tolerated on the assertion's validity times (at most 5m)."),
    attributes: z
      .object({
        user: z.string().min(1).optional().describe("The attribute holding the user's name; default: the assertion's NameID."),
        groups: z.string().min(1).default('groups').describe("The attribute holding the user's groups."),
        project: z.string().min(1).default('project').describe("The attribute holding the user's project."),
      })
      .strict()
      .default({ groups: 'groups', project: 'project' })
      .describe('Which assertion attributes the principal is read from.'),
    session_ttl: duration.default(8 * 3_600_000).describe('How long a browser login stays valid.'),
  })
  .strict();

export type SamlConfig = z.infer<typeof samlConfigSchema>;
