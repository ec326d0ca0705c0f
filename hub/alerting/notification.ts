// A Send (what the pager decided) as every channel gets it: titles and texts from the channel's
// templates, the signed ack link, and the alerts of the group.
import type { AckLinks } from './ack-link.js';
import { channelsOf, type AlertingConfig } from './config.js';
import type { Send } from './dispatch/index.js';
import { renderTemplate, type Notification } from './notify/index.js';

export interface NotificationContext {
  config: AlertingConfig;
  region: string;
  links: AckLinks;
  now: number;
  externalUrl?: string;
}

export function notificationOf(s: Send, ctx: NotificationContext): Notification {
  const { config, region, now } = ctx;
  const g = s.group;
  const first = s.alerts[0];
  const summary = s.alerts.length === 1 && first ? first.annotations.summary : `${s.alerts.length} ${g.labels.alertname ?? 'alerts'}${g.labels.cluster ? ` on ${g.labels.cluster}` : ''}`;
  const base = config.external_url ?? ctx.externalUrl;
  const ackUrl = s.status === 'firing' && base ? `${base.replace(/\/$/, '')}/api/v1/alerts/ack-link?token=${ctx.links.sign(g.dedup_key, now + config.ack_link_ttl)}` : undefined;
  const fields = { alertname: g.labels.alertname ?? first?.labels.alertname ?? '', cluster: g.labels.cluster ?? first?.labels.cluster ?? '', severity: s.severity, status: s.status, count: s.alerts.length, summary, region, group_key: g.key, ack_url: ackUrl ?? '', step: g.step, policy: g.policy ?? '' };
  const channel = channelsOf(config).find((c) => c.name === s.channel);
  return {
    id: s.id,
    status: s.status,
    group_key: g.key,
    dedup_key: g.dedup_key,
    severity: s.severity,
    region,
    title: renderTemplate(channel?.title ?? '[{{severity}}] {{summary}}', fields),
    text: renderTemplate(channel?.text ?? '{{summary}} (region {{region}}, step {{step}})', fields),
    summary,
    step: g.step,
    ...(g.policy ? { policy: g.policy } : {}),
    group_labels: g.labels,
    alerts: s.alerts.map((a) => ({ fingerprint: a.fingerprint, status: a.state === 'firing' ? 'firing' : 'resolved', labels: a.labels, summary: a.annotations.summary, ...(a.starts_at ? { starts_at: a.starts_at } : {}), ...(a.ends_at ? { ends_at: a.ends_at } : {}) })),
    ...(ackUrl ? { ack_url: ackUrl } : {}),
    ...(g.acked_by ? { acked_by: g.acked_by } : {}),
    ...(s.to ? { to: s.to } : {}),
    ...(s.user ? { recipient: s.user } : {}),
  };
}

/** `sfleet alerts test-channel`: one notification that says it is a test. */
export function testNotification(now: number, region: string, by: string): Notification {
  const id = `test-${now}-${Math.random().toString(16).slice(2, 8)}`;
  const labels = { alertname: 'sfleet_test', severity: 'info', cluster: '' };
  return {
    id, status: 'firing', group_key: id, dedup_key: id, severity: 'info', region, title: `Test notification from sfleet (${by})`, text: 'This is a test of the channel; nothing is wrong.', summary: 'test notification', step: 1,
    group_labels: labels, alerts: [{ fingerprint: id, status: 'firing', labels, summary: 'test notification', starts_at: new Date(now).toISOString() }],
  };
}
