// The one config-to-channel switch.
import type { ChannelConfig } from '../config.js';
import { pagerdutyNotifier, slackNotifier, webhookNotifier } from './channels.js';
import { emailNotifier } from './email.js';
import { mqttNotifier } from './mqtt.js';
import type { Notifier } from './notifier.js';

export function buildNotifier(c: ChannelConfig): Notifier {
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
  }
}
