// The one config-to-channel switch.
import type { ChannelConfig } from '../config.js';
import { pagerdutyNotifier, slackNotifier, webhookNotifier } from './channels.js';
import { emailNotifier } from './email.js';
import { jiraNotifier } from './jira.js';
import { mqttNotifier } from './mqtt.js';
import type { Notifier } from './notifier.js';
import { servicenowNotifier } from './servicenow.js';
import { smsNotifier } from './sms.js';
import { TicketBook, type TicketRefs } from './tickets.js';

export interface BuildContext {
  /** Where ticketing channels keep their ticket per episode (durable in the alerting state). */
  tickets: TicketRefs;
}

export function buildNotifier(c: ChannelConfig, ctx: BuildContext = { tickets: new TicketBook() }): Notifier {
  switch (c.type) {
    case 'email':
      return emailNotifier(c);
    case 'slack':
      return slackNotifier(c);
    case 'pagerduty':
      return pagerdutyNotifier(c);
    case 'webhook':
      return webhookNotifier(c);
    case 'mqtt':
      return mqttNotifier(c);
    case 'servicenow':
      return servicenowNotifier(c, ctx.tickets);
    case 'jira':
      return jiraNotifier(c, ctx.tickets);
    case 'sms':
      return smsNotifier(c);
  }
}
