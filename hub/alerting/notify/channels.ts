// The HTTP channels: PagerDuty Events API v2, Slack incoming webhooks (Block Kit), a generic
// JSON webhook (HMAC-SHA256 signature, Idempotency-Key). Each builds its request as the
// receiver's API documents it; postJson() classifies the answer.
import { createHmac } from 'node:crypto';
import type { ChannelConfig } from '../config.js';
import { postJson, type HttpOptions } from './http.js';
import type { Notification, Notifier, SendResult } from './notifier.js';

type Of<T extends ChannelConfig['type']> = Extract<ChannelConfig, { type: T }>;

export const PAGERDUTY_URL = 'https://events.pagerduty.com/v2/enqueue';
const PD_SEVERITY: Record<string, string> = { critical: 'critical', error: 'error', warning: 'warning', info: 'info' };

export function pagerdutyNotifier(c: Of<'pagerduty'>, http: HttpOptions = {}): Notifier {
  return {
    name: c.name,
    type: c.type,
    async send(n, signal): Promise<SendResult> {
      const action = n.status === 'firing' ? 'trigger' : n.status === 'acknowledged' ? 'acknowledge' : 'resolve';
      const event: Record<string, unknown> = { routing_key: c.integration_key, event_action: action, dedup_key: n.dedup_key };
      if (action === 'trigger') {
        event.payload = {
          summary: n.title.slice(0, 1024),
          source: n.group_labels.cluster || n.region,
          severity: PD_SEVERITY[n.severity] ?? 'error',
          timestamp: n.alerts[0]?.starts_at ?? new Date().toISOString(),
          component: n.alerts[0]?.labels.node ?? n.group_labels.cluster ?? '',
          group: n.group_labels.cluster ?? '',
          class: n.group_labels.alertname ?? '',
          custom_details: { text: n.text, count: n.alerts.length, step: n.step, alerts: n.alerts.slice(0, 50).map((a) => ({ fingerprint: a.fingerprint, summary: a.summary, labels: a.labels })) },
        };
        if (n.ack_url) event.links = [{ href: n.ack_url, text: 'Acknowledge in sfleet' }];
      }
      return postJson(c.url ?? PAGERDUTY_URL, JSON.stringify(event), {}, signal, http);
    },
  };
}

export function slackNotifier(c: Of<'slack'>, http: HttpOptions = {}): Notifier {
  return {
    name: c.name,
    type: c.type,
    async send(n, signal): Promise<SendResult> {
      const icon = n.status === 'firing' ? ':rotating_light:' : n.status === 'acknowledged' ? ':eyes:' : ':white_check_mark:';
      const blocks: unknown[] = [
        { type: 'header', text: { type: 'plain_text', text: `${n.status.toUpperCase()}: ${n.title}`.slice(0, 150), emoji: true } },
        { type: 'section', text: { type: 'mrkdwn', text: `${icon} ${escapeSlack(n.text)}`.slice(0, 3000) } },
        { type: 'context', elements: [{ type: 'mrkdwn', text: `severity *${escapeSlack(n.severity)}* · region ${escapeSlack(n.region)} · ${n.alerts.length} alert(s) · step ${n.step}` }] },
      ];
      if (n.ack_url && n.status === 'firing') blocks.push({ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Acknowledge' }, url: n.ack_url, style: 'primary' }] });
      const res = await postJson(c.url ?? c.webhook, JSON.stringify({ text: `${n.status.toUpperCase()}: ${n.title}`, blocks }), {}, signal, http);
      return res;
    },
  };
}

function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function webhookNotifier(c: Of<'webhook'>, http: HttpOptions = {}): Notifier {
  return {
    name: c.name,
    type: c.type,
    async send(n, signal): Promise<SendResult> {
      if (c.format === 'alertmanager' && n.status === 'acknowledged') return { outcome: 'delivered', detail: 'not sent: the Alertmanager payload has no acknowledged status' };
      const body = JSON.stringify(c.format === 'alertmanager' ? alertmanagerPayload(c.name, n) : { version: '1', ...n });
      const ts = String(Math.floor(Date.now() / 1000));
      const headers: Record<string, string> = { 'idempotency-key': n.id, 'x-sfleet-timestamp': ts };
      if (c.secret) headers['x-sfleet-signature'] = `sha256=${createHmac('sha256', c.secret).update(`${ts}.${body}`).digest('hex')}`;
      return postJson(c.url, body, headers, signal, http);
    },
  };
}

/** Alertmanager's webhook payload (version 4), as its webhook_config receivers expect it. */
export function alertmanagerPayload(receiver: string, n: Notification): Record<string, unknown> {
  const common = (pick: (a: Notification['alerts'][number]) => Record<string, string>): Record<string, string> => {
    const [first, ...rest] = n.alerts.map(pick);
    return Object.fromEntries(Object.entries(first ?? {}).filter(([k, v]) => rest.every((o) => o[k] === v)));
  };
  return {
    version: '4',
    groupKey: n.group_key,
    truncatedAlerts: 0,
    status: n.status === 'resolved' ? 'resolved' : 'firing',
    receiver,
    groupLabels: n.group_labels,
    commonLabels: common((a) => a.labels),
    commonAnnotations: common((a) => ({ summary: a.summary })),
    externalURL: n.ack_url ? new URL(n.ack_url).origin : '',
    alerts: n.alerts.map((a) => ({
      status: a.status,
      labels: a.labels,
      annotations: { summary: a.summary },
      startsAt: a.starts_at ?? '0001-01-01T00:00:00Z',
      endsAt: a.ends_at ?? '0001-01-01T00:00:00Z',
      generatorURL: '',
      fingerprint: a.fingerprint,
    })),
  };
}
