// `auth.smart_card`: logins with person certificates (smart cards, PIV/CAC) from an enterprise CA
// that is not the fleet CA. The fleet CA vouches for agents, hubs and tools; a second trust list
// vouches for people, so neither kind of certificate is ever taken for the other.
import { z } from 'zod';
import { duration, hostPort } from '../../../shared/config/index.js';

/** Extended Key Usages a card may carry to log in: TLS client authentication, Microsoft's smart-card logon. */
export const CARD_KEY_USAGES = { client_auth: '1.3.6.1.5.5.7.3.2', smart_card_logon: '1.3.6.1.4.1.311.20.2.2' } as const;
export type CardKeyUsage = keyof typeof CARD_KEY_USAGES;

export const CARD_NAME_SOURCES = ['upn', 'email', 'subject'] as const;
export type CardNameSource = (typeof CARD_NAME_SOURCES)[number];

const domain = z.string().min(1).max(253).regex(/^[A-Za-z0-9.-]+$/, 'a domain, e.g. corp.example.com');

export const smartCardConfigSchema = z
  .object({
    enabled: z.boolean().default(true).describe('Serve the smart-card login listener.'),
    listen: hostPort.describe('The smart-card listener (host:port), apart from the API: it asks every browser for a client certificate and serves only the login, which ends in the same session cookie as a password login.'),
    ca_file: z.string().min(1).describe('PEM file of the CA certificates that issue the people\'s cards (the enterprise CA, with intermediates). Not the fleet CA: a fleet certificate is never a person.'),
    crl_file: z.string().min(1).optional().describe('PEM or DER CRL of that CA: a card listed there is refused, and an open session of it ends at its next re-check (auth.session.revalidate). Read again when the file changes.'),
    map_from: z
      .array(z.enum(CARD_NAME_SOURCES))
      .min(1)
      .max(3)
      .refine((a) => new Set(a).size === a.length, 'each source at most once')
      .default(['upn', 'email', 'subject'])
      .describe('Where the user name comes from, tried in this order: upn (the Microsoft UPN otherName 1.3.6.1.4.1.311.20.2.3 of subjectAltName), email (an rfc822Name of subjectAltName, else the subject\'s emailAddress), subject (an attribute of the subject DN, subject_attribute).'),
    subject_attribute: z.enum(['CN', 'UID', 'emailAddress', 'serialNumber']).default('CN').describe('The subject DN attribute map_from "subject" reads.'),
    strip_domain: z.boolean().default(true).describe('ada@corp.example.com logs in as ada (UPN and e-mail).'),
    domains: z.array(domain).max(64).default([]).describe('When set, a UPN or e-mail of another domain is refused (compared case-insensitively).'),
    extended_key_usage: z
      .array(z.enum(Object.keys(CARD_KEY_USAGES) as [CardKeyUsage, ...CardKeyUsage[]]))
      .min(1)
      .refine((a) => new Set(a).size === a.length, 'each usage at most once')
      .default(['client_auth'])
      .describe('The card\'s certificate must carry one of these Extended Key Usages: client_auth (TLS client authentication, 1.3.6.1.5.5.7.3.2), smart_card_logon (Microsoft smart-card logon, 1.3.6.1.4.1.311.20.2.2). A certificate without the extension, or with neither, is refused: a signing or e-mail certificate of the same CA is not a login.'),
    groups: z.array(z.string().min(1).max(256)).max(64).default([]).describe('Groups a card login holds (RBAC bindings match them), e.g. smart-card.'),
    session_ttl: duration.refine((ms) => ms >= 60_000 && ms <= 30 * 86_400_000, 'between 1m and 30d').optional().describe('How long a card session lasts; default auth.session.ttl.'),
    dashboard_url: z.string().regex(/^https:\/\/[^\s/]+$/, 'an https origin without a path, e.g. https://fleet.example.com:8443').optional().describe('Where the browser goes once logged in; default the API listener\'s port on the host the browser used.'),
  })
  .strict()
  .superRefine((c, ctx) => {
    // Without a domain list, admin@partner.example would log in as admin: the bare name must be of a known domain.
    if (c.strip_domain && c.domains.length === 0 && c.map_from.some((m) => m !== 'subject')) {
      ctx.addIssue({ code: 'custom', path: ['domains'], message: 'strip_domain (the default) needs domains: the UPN and e-mail domains whose users log in by their bare name (else user@any-domain would log in as user); or strip_domain: false' });
    }
  });

export type SmartCardConfig = z.infer<typeof smartCardConfigSchema>;
