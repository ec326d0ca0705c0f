// The one config-to-channel switch.
import { readFileSync } from 'node:fs';
import type { TlsPolicy } from '../../../shared/tls/policy.js';
import type { ChannelConfig } from '../config.js';
import { pagerdutyNotifier, slackNotifier, webhookNotifier } from './channels.js';
import { emailNotifier } from './email.js';
import type { HttpOptions } from './http.js';
import { jiraNotifier } from './jira.js';
import { mqttNotifier } from './mqtt.js';
import type { Notifier } from './notifier.js';
import { servicenowNotifier } from './servicenow.js';
import { smsNotifier } from './sms.js';
import { TicketBook, type TicketRefs } from './tickets.js';

export interface BuildContext {
  /** Where ticketing channels keep their ticket per episode (durable in the alerting state). */
  tickets: TicketRefs;
  /** security.encryption.tls: the suites the HTTPS channels offer (TLS 1.3 only in any case). */
  tls?: TlsPolicy;
}

export function buildNotifier(c: ChannelConfig, ctx: BuildContext = { tickets: new TicketBook() }): Notifier {
  switch (c.type) {
    case 'email':
      return emailNotifier(c);
    case 'slack':
      return slackNotifier(c, httpOf(c, ctx));
    case 'pagerduty':
      return pagerdutyNotifier(c, httpOf(c, ctx));
    case 'webhook':
      return webhookNotifier(c, httpOf(c, ctx));
    case 'mqtt':
      return mqttNotifier(c);
    case 'servicenow':
      return servicenowNotifier(c, ctx.tickets, httpOf(c, ctx));
    case 'jira':
      return jiraNotifier(c, ctx.tickets, httpOf(c, ctx));
    case 'sms':
      return smsNotifier(c, httpOf(c, ctx));
  }
}

function httpOf(c: { name: string; ca_file?: string | undefined }, ctx: BuildContext): HttpOptions {
  let ca: Buffer | undefined;
  if (c.ca_file) {
    try {
      ca = readFileSync(c.ca_file);
    } catch (err) {
      throw new Error(`alerting channel ${c.name}: ca_file ${c.ca_file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return { ...(ctx.tls ? { tls: ctx.tls } : {}), ...(ca ? { ca } : {}) };
}
