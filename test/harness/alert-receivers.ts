// Local receivers for the alerting channels that are SaaS (PagerDuty, Slack, ServiceNow, Jira, an
// SMS gateway) or a site's own endpoint (webhook), and a real SMTP server (smtp-server, AUTH required). Each checks every
// request as the real API documents it and answers as that API does; what it accepted and what
// it refused are kept for the test to assert. Tests import this file directly.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

/** One scripted answer per request (status, headers); then the default. 'hang' never answers. */
export type Script = ({ status: number; headers?: Record<string, string>; body?: string } | 'hang')[];

/** A loopback HTTP server that answers a script first (one entry per request), then its handler. */
export abstract class LoopbackReceiver {
  readonly refused: { path: string; why: string }[] = [];
  readonly script: Script = [];
  /** Requests a 'hang' entry holds open (read whole, never answered). */
  held = 0;
  private server?: Server;
  url = '';

  /** TLS handshakes completed (an https receiver). */
  handshakes = 0;

  /** `tls`: serve https (TLS 1.3) with this certificate, offering only `ciphers` when given. */
  async start(tls?: { cert: Buffer; key: Buffer; ciphers?: string }): Promise<this> {
    const serve = (req: IncomingMessage, res: ServerResponse): void => void this.serve(req, res);
    if (tls) {
      const server = createHttpsServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.3', ...(tls.ciphers ? { ciphers: tls.ciphers } : {}) }, serve);
      server.on('secureConnection', () => this.handshakes++);
      server.on('tlsClientError', () => undefined);
      this.server = server;
    } else this.server = createServer(serve);
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `${tls ? 'https' : 'http'}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const next = this.script.shift();
    if (next === 'hang') {
      this.held++;
      return;
    }
    if (next) {
      res.writeHead(next.status, next.headers ?? {}).end(next.body ?? '');
      return;
    }
    await this.handle(req, res, raw);
  }

  protected abstract handle(req: IncomingMessage, res: ServerResponse, raw: string): Promise<void>;
}

export class HttpReceiver extends LoopbackReceiver {
  readonly accepted: Received[] = [];

  constructor(private readonly check: (r: Received, raw: string) => string | undefined, private readonly ok: { status: number; body: (r: Received) => string }) {
    super();
  }

  protected async handle(req: IncomingMessage, res: ServerResponse, raw: string): Promise<void> {
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

export interface RestRequest extends Received {
  method: string;
  query: URLSearchParams;
}
export type RestAnswer = { status: number; body?: unknown } | { refuse: string; status: number; body: unknown };

/** A REST API: any method, JSON (or form) bodies; the handler answers or refuses as the API does. */
export class RestReceiver extends LoopbackReceiver {
  readonly accepted: RestRequest[] = [];

  constructor(private readonly handler: (r: RestRequest) => RestAnswer) {
    super();
  }

  protected async handle(req: IncomingMessage, res: ServerResponse, raw: string): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://receiver');
    const type = String(req.headers['content-type'] ?? '');
    let body: Record<string, unknown> = {};
    if (raw && type.startsWith('application/x-www-form-urlencoded')) body = Object.fromEntries(new URLSearchParams(raw));
    else if (raw) {
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        body = { __unparsable: raw };
      }
    }
    const r: RestRequest = { method: req.method ?? '', path: u.pathname, query: u.searchParams, headers: req.headers, body };
    const answer = this.handler(r);
    if ('refuse' in answer) this.refused.push({ path: r.path, why: answer.refuse });
    else this.accepted.push(r);
    if (answer.body === undefined) res.writeHead(answer.status).end();
    else res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
  }
}

export type Credentials = { username: string; password: string } | { token: string };

function authorized(r: RestRequest, creds: Credentials): boolean {
  const want = 'token' in creds ? `Bearer ${creds.token}` : `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
  return r.headers.authorization === want;
}

export interface Incident extends Record<string, string | string[]> {
  sys_id: string;
  number: string;
  state: string;
  work_notes: string[];
}

/**
 * ServiceNow Table API for the incident table (POST create, PATCH update, GET query):
 * https://developer.servicenow.com/dev.do#!/reference/api/latest/rest/c_TableAPI. Errors as the
 * instance answers them ({ error: { message, detail }, status: "failure" }); resolving (state 6
 * or 7) needs close_code and close_notes, as the incident's data policy demands.
 */
export function servicenowReceiver(creds: Credentials, table = 'incident'): RestReceiver & { incidents: Map<string, Incident> } {
  const incidents = new Map<string, Incident>();
  const fail = (status: number, refuse: string, detail: string | null = null): RestAnswer => ({ refuse, status, body: { error: { message: refuse, detail }, status: 'failure' } });
  const receiver = new RestReceiver((r) => {
    if (!authorized(r, creds)) return fail(401, 'User Not Authenticated', 'Required to provide Auth information');
    if (!String(r.headers.accept ?? '').includes('application/json')) return fail(406, 'Accept header must allow application/json');
    const m = /^\/api\/now\/table\/([^/]+)(?:\/([0-9a-f]{32}))?$/.exec(r.path);
    if (!m || m[1] !== table) return fail(400, `Invalid table ${m?.[1] ?? r.path}`);
    if (r.method !== 'GET' && !String(r.headers['content-type']).startsWith('application/json')) return fail(415, 'content-type is not application/json');
    if (r.body.__unparsable !== undefined) return fail(400, 'Exception while reading request', 'The payload is not valid JSON.');
    const b = r.body as Record<string, string>;
    for (const f of ['urgency', 'impact']) if (b[f] !== undefined && !['1', '2', '3'].includes(b[f])) return fail(400, `${f} must be 1, 2 or 3`);
    if (r.method === 'GET' && !m[2]) {
      // Encoded query: field=value and field!=value joined by ^. As in ServiceNow, an incident is
      // active until it is closed (7): a resolved one (6) is still active.
      const conds = (r.query.get('sysparm_query') ?? '').split('^').filter(Boolean).map((c) => /^(\w+)(!=|=)(.*)$/.exec(c)?.slice(1) ?? [c, '=', '']);
      const valueOf = (i: Incident, k: string): unknown => (k === 'active' ? String(i.state !== '7') : i[k]);
      const result = [...incidents.values()].filter((i) => conds.every(([k, op, v]) => (op === '!=' ? valueOf(i, k) !== v : valueOf(i, k) === v)));
      return { status: 200, body: { result: result.slice(0, Number(r.query.get('sysparm_limit') ?? 10_000)) } };
    }
    if (r.method === 'POST' && !m[2]) {
      if (!b.short_description) return fail(403, 'Data Policy Exception: The following fields are mandatory: Short description');
      const sys_id = randomBytes(16).toString('hex');
      const incident: Incident = { ...b, sys_id, number: `INC${String(10_001 + incidents.size).padStart(7, '0')}`, state: '1', work_notes: [] };
      incidents.set(sys_id, incident);
      return { status: 201, body: { result: { ...incident, work_notes: '' } } };
    }
    if (r.method === 'PATCH' && m[2]) {
      const incident = incidents.get(m[2]);
      if (!incident) return fail(404, 'No Record found', "Record doesn't exist or ACL restricts the record retrieval");
      if ((b.state === '6' || b.state === '7') && (!b.close_code || !b.close_notes)) return fail(403, 'Data Policy Exception: The following fields are mandatory: Resolution code, Resolution notes');
      const { work_notes, ...rest } = b;
      Object.assign(incident, rest);
      if (work_notes) incident.work_notes.push(work_notes);
      return { status: 200, body: { result: { ...incident, work_notes: '' } } };
    }
    return fail(405, `Method ${r.method} not allowed here`);
  });
  return Object.assign(receiver, { incidents });
}

export interface JiraIssue {
  key: string;
  fields: Record<string, unknown>;
  status: string;
  comments: string[];
}

// A workflow whose transition ids are not Jira's sample ones: an id assumed instead of looked up fails.
const JIRA_WORKFLOW: Record<string, { id: string; name: string; to: string }[]> = {
  'To Do': [{ id: '711', name: 'Start Progress', to: 'In Progress' }, { id: '761', name: 'Done', to: 'Done' }],
  'In Progress': [{ id: '721', name: 'Stop Progress', to: 'To Do' }, { id: '761', name: 'Done', to: 'Done' }],
  Done: [{ id: '781', name: 'Reopen', to: 'To Do' }],
};

/**
 * Jira REST API v2 (https://developer.atlassian.com/cloud/jira/platform/rest/v2/): create issue,
 * add comment, get and do transitions, search by JQL (labels only). Errors as Jira answers them:
 * { errorMessages: [...], errors: { field: message } }.
 */
/** `dataCenter`: search at /rest/api/2/search as Jira Data Center (which has no /search/jql, Cloud's). */
export function jiraReceiver(creds: Credentials, project: string, issueTypes = ['Bug', 'Task'], opts: { dataCenter?: boolean } = {}): RestReceiver & { issues: Map<string, JiraIssue> } {
  const issues = new Map<string, JiraIssue>();
  const fail = (status: number, refuse: string, errors: Record<string, string> = {}): RestAnswer => ({ refuse, status, body: { errorMessages: Object.keys(errors).length ? [] : [refuse], errors } });
  const receiver: RestReceiver = new RestReceiver((r): RestAnswer => {
    if (!authorized(r, creds)) return fail(401, 'You are not authenticated. Authentication required to perform this operation.');
    if (r.method === 'POST' && !String(r.headers['content-type']).startsWith('application/json')) return fail(415, 'Unsupported Media Type');
    if (r.path === (opts.dataCenter ? '/rest/api/2/search' : '/rest/api/2/search/jql') && r.method === 'GET') {
      const label = /labels = "([^"]+)"/.exec(r.query.get('jql') ?? '')?.[1];
      const open = [...issues.values()].filter((i) => (i.fields.labels as string[]).includes(label ?? '') && i.status !== 'Done');
      const found = open.map((i) => ({ id: i.key, key: i.key }));
      return { status: 200, body: opts.dataCenter ? { startAt: 0, maxResults: 1, total: found.length, issues: found } : { issues: found, isLast: true } };
    }
    if (r.path === '/rest/api/2/issue' && r.method === 'POST') {
      const f = (r.body.fields ?? {}) as { project?: { key?: string }; issuetype?: { name?: string }; summary?: unknown; description?: unknown; labels?: unknown };
      if (f.project?.key !== project) return fail(400, 'valid project is required', { project: 'valid project is required' });
      if (!issueTypes.includes(String(f.issuetype?.name))) return fail(400, 'Specify a valid issue type', { issuetype: 'Specify a valid issue type' });
      if (typeof f.summary !== 'string' || !f.summary) return fail(400, 'You must specify a summary of the issue.', { summary: 'You must specify a summary of the issue.' });
      if (f.summary.length > 255 || /[\r\n]/.test(f.summary)) return fail(400, 'Summary must be less than 255 characters and hold no line breaks.', { summary: 'Summary must be less than 255 characters and hold no line breaks.' });
      if (f.description !== undefined && typeof f.description !== 'string') return fail(400, 'Operation value must be a string', { description: 'Operation value must be a string' });
      const bad = ((f.labels ?? []) as unknown[]).find((l) => typeof l !== 'string' || /\s/.test(l));
      if (bad !== undefined) return fail(400, `The label '${String(bad)}' contains spaces which is invalid.`, { labels: `The label '${String(bad)}' contains spaces which is invalid.` });
      const key = `${project}-${issues.size + 1}`;
      issues.set(key, { key, fields: r.body.fields as Record<string, unknown>, status: 'To Do', comments: [] });
      return { status: 201, body: { id: String(10_000 + issues.size), key, self: `${receiver.url}/rest/api/2/issue/${key}` } };
    }
    const m = /^\/rest\/api\/2\/issue\/([A-Z][A-Z0-9_]*-\d+)\/(comment|transitions)$/.exec(r.path);
    const issue = m ? issues.get(m[1]) : undefined;
    if (!m) return fail(404, `no REST resource at ${r.method} ${r.path}`);
    if (!issue) return fail(404, 'Issue does not exist or you do not have permission to see it.');
    if (m[2] === 'comment' && r.method === 'POST') {
      if (typeof r.body.body !== 'string' || !r.body.body) return fail(400, 'Comment body can not be empty!', { comment: 'Comment body can not be empty!' });
      issue.comments.push(r.body.body);
      return { status: 201, body: { id: String(issue.comments.length), body: r.body.body } };
    }
    if (m[2] === 'transitions' && r.method === 'GET') return { status: 200, body: { expand: 'transitions', transitions: JIRA_WORKFLOW[issue.status].map((t) => ({ id: t.id, name: t.name, to: { name: t.to } })) } };
    if (m[2] === 'transitions' && r.method === 'POST') {
      const id = String((r.body.transition as { id?: unknown } | undefined)?.id);
      const t = JIRA_WORKFLOW[issue.status].find((x) => x.id === id);
      if (!t) return fail(400, `Transition id '${id}' is not valid for this issue.`);
      issue.status = t.to;
      return { status: 204 };
    }
    return fail(405, `Method ${r.method} not allowed here`);
  });
  return Object.assign(receiver, { issues });
}

/** A typical SMS gateway: Bearer token, { to (E.164), message (at most 320) } as JSON, a form or GET query; 200 { id, status: "queued" }. */
export function smsGatewayReceiver(token: string): RestReceiver & { texts: { to: string; message: string }[] } {
  const texts: { to: string; message: string }[] = [];
  const fail = (status: number, refuse: string): RestAnswer => ({ refuse, status, body: { error: refuse } });
  const receiver = new RestReceiver((r) => {
    if (r.headers.authorization !== `Bearer ${token}`) return fail(401, 'invalid or missing API token');
    const b = r.method === 'GET' ? Object.fromEntries(r.query) : r.body;
    if (r.method !== 'GET' && !/^application\/(json|x-www-form-urlencoded)/.test(String(r.headers['content-type']))) return fail(415, 'content-type must be application/json or a form');
    if (typeof b.to !== 'string' || !/^\+[1-9]\d{6,14}$/.test(b.to)) return fail(400, 'to must be an E.164 number');
    if (typeof b.message !== 'string' || !b.message || b.message.length > 320) return fail(400, 'message: 1 to 320 characters');
    texts.push({ to: b.to, message: b.message });
    return { status: 200, body: { id: `sms-${texts.length}`, status: 'queued' } };
  });
  return Object.assign(receiver, { texts });
}
