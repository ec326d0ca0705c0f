// SMS through a site's HTTP gateway: one request per number (the channel's `to` and, for a
// user's contact, their number), the body rendered from the channel's template with each value
// escaped for where it lands (a JSON string or a form field). Numbers a retry has already
// reached are not texted again.
import type { ChannelConfig } from '../config.js';
import { request, type HttpOptions } from './http.js';
import type { Notification, Notifier, SendResult } from './notifier.js';
import { renderTemplate } from './template.js';

type SmsConfig = Extract<ChannelConfig, { type: 'sms' }>;

/** Notifications whose numbers are partly texted, kept for their retries (bounded). */
const REMEMBERED = 1_000;

export function smsNotifier(c: SmsConfig, http: HttpOptions = {}): Notifier {
  const reached = new Map<string, Set<string>>();
  const encode = c.content_type === 'json' ? (v: string) => JSON.stringify(v).slice(1, -1) : encodeURIComponent;
  return {
    name: c.name,
    type: c.type,
    async send(n, signal): Promise<SendResult> {
      const numbers = [...new Set(n.to ? [n.to] : c.to)];
      if (!numbers.length) return { outcome: 'rejected', reason: 'no number to text: set the channel\'s to, or contacts with an address' };
      const done = reached.get(n.id) ?? new Set<string>();
      const fields = { ...titleFields(n), message: message(n, c) };
      for (const to of numbers.filter((x) => !done.has(x))) {
        const body = renderTemplate(c.body, { ...fields, to }, encode);
        const headers = { ...(c.method === 'GET' ? {} : { 'content-type': c.content_type === 'json' ? 'application/json' : 'application/x-www-form-urlencoded' }), ...c.headers };
        const target = c.method === 'GET' ? `${c.url}${c.url.includes('?') ? '&' : '?'}${body}` : c.url;
        const res = await request(c.method, target, c.method === 'GET' ? undefined : body, headers, signal, http);
        if (res.outcome !== 'delivered') {
          remember(reached, n.id, done);
          return res.outcome === 'retry' ? res : { outcome: 'rejected', reason: `${res.reason} (${done.size} of ${numbers.length} texted)` };
        }
        done.add(to);
      }
      reached.delete(n.id);
      return { outcome: 'delivered', detail: `${numbers.length} SMS` };
    },
  };
}

function remember(reached: Map<string, Set<string>>, id: string, done: Set<string>): void {
  reached.set(id, done);
  if (reached.size > REMEMBERED) reached.delete(reached.keys().next().value as string);
}

/** The title (or, when the channel sets a text template, the text), the status first; cut to max_length. */
function message(n: Notification, c: SmsConfig): string {
  const text = `${n.status.toUpperCase()}: ${c.text ? n.text : n.title}${n.ack_url && n.status === 'firing' ? ` Ack: ${n.ack_url}` : ''}`;
  return text.length > c.max_length ? `${text.slice(0, c.max_length - 1)}…` : text;
}

function titleFields(n: Notification): Record<string, string | number> {
  return { alertname: n.group_labels.alertname ?? '', cluster: n.group_labels.cluster ?? '', severity: n.severity, status: n.status, count: n.alerts.length, summary: n.summary, region: n.region, group_key: n.group_key, ack_url: n.ack_url ?? '', step: n.step, policy: n.policy ?? '' };
}
