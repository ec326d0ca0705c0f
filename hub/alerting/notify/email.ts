// E-mail over SMTP (nodemailer): STARTTLS when offered (required with require_tls), TLS from the
// start with secure, AUTH when a username is set; text and HTML bodies. SMTP answers 4xx and
// connection failures retry; 5xx (a refused recipient, failed AUTH) is rejected for good.
import { readFileSync } from 'node:fs';
import nodemailer from 'nodemailer';
import type { ChannelConfig } from '../config.js';
import type { Notification, Notifier, SendResult } from './notifier.js';

type EmailConfig = Extract<ChannelConfig, { type: 'email' }>;

export function emailNotifier(c: EmailConfig): Notifier {
  const override = c.url ? new URL(c.url) : undefined;
  const transport = nodemailer.createTransport({
    host: override?.hostname ?? c.smtp.host,
    port: override?.port ? Number(override.port) : c.smtp.port,
    secure: c.smtp.secure || override?.protocol === 'smtps:',
    requireTLS: c.smtp.require_tls,
    ...(c.smtp.username ? { auth: { user: c.smtp.username, pass: c.smtp.password ?? '' } } : {}),
    ...(c.smtp.ca_file ? { tls: { ca: readFileSync(c.smtp.ca_file) } } : {}),
    connectionTimeout: c.timeout,
    greetingTimeout: c.timeout,
    socketTimeout: c.timeout,
  });
  return {
    name: c.name,
    type: c.type,
    async send(n: Notification): Promise<SendResult> {
      try {
        const info = await transport.sendMail({
          from: c.from,
          to: n.to ? [n.to] : Array.isArray(c.endpoint) ? c.endpoint : [c.endpoint],
          subject: `[${n.status.toUpperCase()}${n.step > 1 && n.status === 'firing' ? ` #${n.step}` : ''}] ${n.title}`,
          text: `${n.text}\n\n${n.alerts.map((a) => `- ${a.summary} (${a.fingerprint})`).join('\n')}\n${n.ack_url && n.status === 'firing' ? `\nAcknowledge: ${n.ack_url}\n` : ''}`,
          html: html(n),
          headers: { 'X-Sfleet-Group': n.dedup_key, 'X-Sfleet-Status': n.status },
        });
        return { outcome: 'delivered', detail: String(info.response ?? '').slice(0, 200) };
      } catch (err) {
        const e = err as Error & { responseCode?: number; code?: string };
        const reason = `${e.code ?? 'SMTP'}${e.responseCode ? ` ${e.responseCode}` : ''}: ${e.message.split('\n')[0].slice(0, 200)}`;
        return e.responseCode && e.responseCode >= 500 ? { outcome: 'rejected', reason } : { outcome: 'retry', reason };
      }
    },
    async close() {
      transport.close();
    },
  };
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function html(n: Notification): string {
  const rows = n.alerts.map((a) => `<li>${esc(a.summary)} <code>${esc(a.fingerprint)}</code></li>`).join('');
  const ack = n.ack_url && n.status === 'firing' ? `<p><a href="${esc(n.ack_url)}">Acknowledge</a></p>` : '';
  return `<h2>${esc(n.status.toUpperCase())}: ${esc(n.title)}</h2><p>${esc(n.text)}</p><ul>${rows}</ul>${ack}`;
}
