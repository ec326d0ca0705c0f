// Local receivers for the alerting channels that are SaaS (PagerDuty, Slack) or a site's own
// endpoint (webhook), and a real SMTP server (smtp-server, AUTH required). Each checks every
// request as the real API documents it and answers as that API does; what it accepted and what
// it refused are kept for the test to assert. Tests import this file directly.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

/** One scripted answer per request (status, headers); then the default. 'hang' never answers. */
export type Script = ({ status: number; headers?: Record<string, string>; body?: string } | 'hang')[];

export class HttpReceiver {
  readonly accepted: Received[] = [];
  readonly refused: { path: string; why: string }[] = [];
  readonly script: Script = [];
  private server?: Server;
  url = '';

  constructor(private readonly check: (r: Received, raw: string) => string | undefined, private readonly ok: { status: number; body: (r: Received) => string }) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const next = this.script.shift();
    if (next === 'hang') return;
    if (next) {
      res.writeHead(next.status, next.headers ?? {}).end(next.body ?? '');
      return;
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      this.refused.push({ path: req.url ?? '', why: 'body is not JSON' });
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"status":"invalid event","message":"Event object is invalid"}');
      return;
    }
    const r: Received = { path: req.url ?? '', headers: req.headers, body };
    const why = req.method !== 'POST' ? 'not a POST' : !String(req.headers['content-type']).startsWith('application/json') ? 'content-type is not application/json' : this.check(r, raw);
    if (why) {
      this.refused.push({ path: r.path, why });
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'invalid event', message: why, errors: [why] }));
      return;
    }
    this.accepted.push(r);
    res.writeHead(this.ok.status, { 'content-type': 'application/json' }).end(this.ok.body(r));
  }
}

const PD_ACTIONS = new Set(['trigger', 'acknowledge', 'resolve']);
const PD_SEVERITIES = new Set(['critical', 'error', 'warning', 'info']);

/** PagerDuty Events API v2 (POST /v2/enqueue): https://developer.pagerduty.com/api-reference/368ae3d938c9e-send-an-event-to-pager-duty */
export function pagerdutyReceiver(routingKey: string): HttpReceiver {
  return new HttpReceiver(
    (r) => {
      const b = r.body;
      if (r.path !== '/v2/enqueue') return `unknown path ${r.path}`;
      if (b.routing_key !== routingKey) return 'routing_key is not the integration key';
      if (!PD_ACTIONS.has(String(b.event_action))) return 'event_action must be trigger, acknowledge or resolve';
      if (b.dedup_key !== undefined && (typeof b.dedup_key !== 'string' || b.dedup_key.length > 255)) return 'dedup_key must be a string of at most 255 characters';
      if (b.event_action !== 'trigger') return typeof b.dedup_key === 'string' && b.dedup_key ? undefined : 'acknowledge and resolve need the dedup_key';
      const p = b.payload as Record<string, unknown> | undefined;
      if (!p) return 'trigger needs a payload';
      if (typeof p.summary !== 'string' || !p.summary || p.summary.length > 1024) return 'payload.summary: required, at most 1024 characters';
      if (typeof p.source !== 'string' || !p.source) return 'payload.source is required';
      if (!PD_SEVERITIES.has(String(p.severity))) return 'payload.severity must be critical, error, warning or info';
      if (p.timestamp !== undefined && !Number.isFinite(Date.parse(String(p.timestamp)))) return 'payload.timestamp must be ISO 8601';
      for (const l of (b.links as { href?: string }[] | undefined) ?? []) if (!/^https?:\/\//.test(String(l.href))) return 'links[].href must be a URL';
      return undefined;
    },
    { status: 202, body: (r) => JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: r.body.dedup_key }) },
  );
}

/** Slack incoming webhook with Block Kit: https://api.slack.com/messaging/webhooks, https://api.slack.com/reference/block-kit/blocks */
export function slackReceiver(): HttpReceiver {
  const r = new HttpReceiver(
    (req) => {
      const blocks = req.body.blocks as Record<string, unknown>[] | undefined;
      if (typeof req.body.text !== 'string' && !blocks) return 'no_text';
      if (blocks && (!Array.isArray(blocks) || blocks.length > 50)) return 'invalid_blocks';
      for (const b of blocks ?? []) {
        if (!['header', 'section', 'context', 'actions', 'divider'].includes(String(b.type))) return 'invalid_blocks';
        const text = b.text as { type?: string; text?: string } | undefined;
        if (b.type === 'header' && (text?.type !== 'plain_text' || !text.text || text.text.length > 150)) return 'invalid_blocks: header needs plain_text of at most 150';
        if (b.type === 'section' && (!text?.text || text.text.length > 3000)) return 'invalid_blocks: section text';
      }
      return undefined;
    },
    { status: 200, body: () => 'ok' },
  );
  return r;
}

/** A site's webhook that verifies X-Sfleet-Signature (HMAC-SHA256 of "<timestamp>.<body>") and sees each Idempotency-Key once. */
export function webhookReceiver(secret: string): HttpReceiver & { keys: Set<string>; duplicates: number } {
  const keys = new Set<string>();
  const r = new HttpReceiver(
    (req, raw) => {
      const ts = String(req.headers['x-sfleet-timestamp'] ?? '');
      const sig = String(req.headers['x-sfleet-signature'] ?? '');
      const want = `sha256=${createHmac('sha256', secret).update(`${ts}.${raw}`).digest('hex')}`;
      if (sig.length !== want.length || !timingSafeEqual(Buffer.from(sig), Buffer.from(want))) return 'bad signature';
      if (Math.abs(Date.now() / 1000 - Number(ts)) > 300) return 'stale timestamp';
      const key = String(req.headers['idempotency-key'] ?? '');
      if (!key) return 'no Idempotency-Key';
      if (keys.has(key)) out.duplicates++;
      keys.add(key);
      return undefined;
    },
    { status: 200, body: () => '{}' },
  );
  const out = Object.assign(r, { keys, duplicates: 0 });
  return out;
}

export interface Mail {
  from: string;
  to: string[];
  user: string;
  data: string;
}

/** A real SMTP server (smtp-server) that requires AUTH with this user and password. */
export class SmtpReceiver {
  readonly mails: Mail[] = [];
  private server?: SMTPServer;
  port = 0;

  constructor(private readonly user: string, private readonly password: string) {}

  async start(): Promise<this> {
    this.server = new SMTPServer({
      authOptional: false,
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onAuth: (auth, _session, cb) => (auth.username === this.user && auth.password === this.password ? cb(null, { user: auth.username }) : cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }))),
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          this.mails.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), user: String(session.user), data: Buffer.concat(chunks).toString('utf8') });
          cb();
        });
      },
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    this.port = (this.server.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
