// The brief's `integrations:` block. Its servicenow and jira entries are alerting channels under
// the brief's names: each is checked as a channel of that type (same keys, plus credentials) and
// joins alerting.channels named "servicenow" / "jira", so policies and routes can name it. The
// copy is made before alerting is checked (withIntegrationChannels, a preprocess of the whole
// file) so that a policy naming "servicenow" is known there. confluence is not a channel: the
// leader writes report pages there (hub/confluence).
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { channelSchema } from '../alerting/config.js';
import { confluenceConfigSchema } from '../confluence/config.js';

const KINDS = ['servicenow', 'jira'] as const;
type Kind = (typeof KINDS)[number];

/** An integration as the channel it is: its keys with the type (and name) of that channel. */
const asChannel = (kind: Kind, value: unknown): unknown => (value && typeof value === 'object' && !Array.isArray(value) ? { type: kind, name: kind, ...value } : value);

const integration = (kind: Kind) =>
  z
    .preprocess((v) => asChannel(kind, v), channelSchema)
    .optional()
    .describe(`The brief's ${kind} block: a channel of type ${kind} named "${kind}" in alerting.channels (the same keys).`);

export const integrationsConfigSchema = z
  .object({ servicenow: integration('servicenow'), jira: integration('jira'), confluence: confluenceConfigSchema.optional() })
  .strict()
  .describe('Ticketing systems as the brief writes them (each is an alerting channel under its own name), and Confluence reports.');

/**
 * The raw file with each valid integration added to alerting.channels, unless a channel of that
 * name is there already (the same one, as `config export` writes it back, is fine; another is an
 * error, see integrationProblems). An invalid integration is reported at integrations.<kind> only.
 */
export function withIntegrationChannels(raw: unknown): unknown {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const file = raw as Record<string, unknown>;
  const integrations = file.integrations;
  if (!integrations || typeof integrations !== 'object' || Array.isArray(integrations)) return raw;
  const alerting = file.alerting && typeof file.alerting === 'object' && !Array.isArray(file.alerting) ? (file.alerting as Record<string, unknown>) : {};
  const channels = Array.isArray(alerting.channels) ? [...(alerting.channels as unknown[])] : [];
  let added = false;
  for (const kind of KINDS) {
    const value = (integrations as Record<string, unknown>)[kind];
    if (value === undefined || !channelSchema.safeParse(asChannel(kind, value)).success) continue;
    if (channels.some((ch) => nameOf(ch) === kind)) continue;
    channels.push(asChannel(kind, value));
    added = true;
  }
  return added ? { ...file, alerting: { ...alerting, channels } } : raw;
}

/** A channel of alerting.channels with an integration's name that is not that integration. */
export function integrationProblems(c: { integrations?: z.infer<typeof integrationsConfigSchema>; alerting: { channels: z.infer<typeof channelSchema>[] } }): { path: (string | number)[]; message: string }[] {
  const problems: { path: (string | number)[]; message: string }[] = [];
  for (const kind of KINDS) {
    const wanted = c.integrations?.[kind];
    if (!wanted) continue;
    const named = c.alerting.channels.filter((ch) => (ch.name ?? ch.type) === kind);
    if (named.length > 0 && !named.some((ch) => isDeepStrictEqual(ch, wanted))) {
      problems.push({ path: ['integrations', kind], message: `alerting.channels has another channel named "${kind}": configure it in one place (integrations.${kind} is that channel)` });
    }
  }
  return problems;
}

function nameOf(ch: unknown): unknown {
  if (!ch || typeof ch !== 'object') return undefined;
  const { name, type } = ch as { name?: unknown; type?: unknown };
  return name ?? type;
}

/**
 * The config as written back by `sfleet config export`: without the channels the integrations
 * added (they come back from integrations: on load; written twice they would clash).
 */
export function withoutIntegrationChannels<C extends { integrations?: unknown; alerting: { channels: { name?: string; type: string }[] } }>(config: C, raw: unknown): C {
  const written = (raw as { alerting?: { channels?: unknown[] } } | undefined)?.alerting?.channels ?? [];
  const derived = (ch: { name?: string; type: string }) => KINDS.includes((ch.name ?? ch.type) as Kind) && config.integrations !== undefined && !written.some((w) => nameOf(w) === (ch.name ?? ch.type));
  if (!config.alerting.channels.some(derived)) return config;
  return { ...config, alerting: { ...config.alerting, channels: config.alerting.channels.filter((ch) => !derived(ch)) } };
}
