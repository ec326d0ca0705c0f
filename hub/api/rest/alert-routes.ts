// /api/v1/alerts, /api/v1/silences, /api/v1/schedules, the deliveries and the history: the alerting room's answers, under the
// alerts and silences RBAC resources; an alert is visible under the cluster row filter of its
// `cluster` label. Acks, resolves and silences are audited by the root hook like every mutation.
// The ack link of a notification is public (its signature is the credential): GET shows a page
// with a button, the POST acknowledges (mail scanners that fetch links do not ack).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ForbiddenError, NotFoundError } from '../../../shared/errors/index.js';
import { AlertingLeaderUnavailableError, RELAYED_BY_HEADER, type AlertView } from '../../alerting/index.js';
import { setAuditContext } from '../../audit/index.js';
import { str } from './query-schemas.js';
import { access, principal } from './request-access.js';
import type { RouteDeps } from './route-deps.js';

const OBJ = { type: 'object', additionalProperties: true } as const;
const ITEMS = { 200: { type: 'object', properties: { items: { type: 'array', items: OBJ } } } } as const;
const s = { type: 'string' } as const;
const sn = { type: ['string', 'null'] } as const;
const labels = { type: 'object', additionalProperties: s } as const;
/** An alert as the list and the ack/resolve answers carry it (hub/alerting AlertView); fields added later still pass. */
const ALERT = {
  type: 'object',
  additionalProperties: true,
  required: ['fingerprint', 'labels', 'annotations', 'state', 'active_since', 'last_seen', 'silenced_by', 'inhibited_by', 'groups'],
  properties: {
    fingerprint: s, labels, annotations: labels, state: { type: 'string', enum: ['pending', 'firing', 'resolved'] }, active_since: s, starts_at: s, ends_at: s, last_seen: s,
    source: s, expires_at: s, generator_url: s, resolved_by: s, silenced_by: sn, inhibited_by: sn,
    groups: {
      type: 'array',
      items: {
        type: 'object', additionalProperties: true, required: ['group_key', 'dedup_key', 'policy', 'step', 'next_at', 'acked_by', 'acked_at', 'channels_notified'],
        properties: { group_key: s, dedup_key: s, policy: sn, step: { type: 'integer' }, next_at: sn, acked_by: sn, acked_at: sn, channels_notified: { type: 'array', items: s } },
      },
    },
    actions: { type: 'array', items: { type: 'string', enum: ['ack', 'resolve'] }, description: 'What this caller may do to this alert now (the gate decides)' },
  },
} as const;
const ALERTS = { 200: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: ALERT } } } } as const;
const SILENCE = {
  type: 'object', additionalProperties: true, required: ['id', 'matchers', 'starts_at', 'ends_at', 'created_by', 'comment', 'source'],
  properties: { id: s, matchers: { type: 'array', items: s }, starts_at: s, ends_at: s, created_by: s, comment: s, source: { type: 'string', enum: ['config', 'api'] }, actions: { type: 'array', items: { type: 'string', enum: ['expire'] } } },
} as const;
const HISTORY = {
  type: 'object', additionalProperties: false, required: ['fingerprint', 'labels', 'summary', 'fired_at', 'acknowledged_at', 'acknowledged_by', 'resolved_at', 'resolved_by', 'timeline'],
  properties: {
    fingerprint: s, labels, summary: s, fired_at: s, acknowledged_at: sn, acknowledged_by: sn, resolved_at: sn, resolved_by: sn,
    timeline: {
      type: 'array',
      items: { type: 'object', additionalProperties: false, required: ['at', 'what'], properties: { at: s, what: { type: 'string', enum: ['fired', 'notified', 'acknowledged', 'resolved'] }, channel: s, status: s, step: { type: 'integer' }, outcome: s, by: s } },
    },
  },
} as const;
const ID_PARAMS = { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 512 } }, required: ['id'] } as const;

function alerting(deps: Pick<RouteDeps, 'alerting'>) {
  if (!deps.alerting) throw new NotFoundError('alerting is not running on this hub');
  return deps.alerting;
}

/**
 * Whether the caller may see an alert with these labels: its cluster under the row filter and,
 * when it names a Slurm account (a user's job failures), the tenant of (cluster, account), so a
 * tenant sharing a cluster does not see another tenant's user and account in its alerts.
 */
function allowedLabels(request: FastifyRequest, rows: ReturnType<ReturnType<typeof access>['rows']>, labels: Readonly<Record<string, string | undefined>>): boolean {
  const cluster = labels.cluster ?? '';
  if (!rows.allows('event', { cluster })) return false;
  return labels.account ? access(request).inTenant({ cluster, account: labels.account }) : true;
}

function visible(request: FastifyRequest, items: AlertView[], resource = 'alerts'): AlertView[] {
  const rows = access(request).rows(resource);
  return rows.unrestricted ? items : items.filter((a) => allowedLabels(request, rows, a.labels));
}

/** Each alert with the actions the gate lets this caller take on it (the dashboard draws only those). */
function withActions(request: FastifyRequest, items: AlertView[]): (AlertView & { actions: string[] })[] {
  const a = access(request);
  const verbs = (['ack', 'resolve'] as const).filter((v) => a.decide(`alerts:${v}`).allowed).map((v) => ({ v, rows: a.rows('alerts', v) }));
  return items.map((x) => {
    // Ack stops a group's escalation: only for an alert that is paging and not yet acknowledged.
    const ackable = x.groups.some((g) => g.acked_by === null);
    const actions = verbs.filter(({ v, rows }) => x.state !== 'resolved' && (v !== 'ack' || ackable) && (rows.unrestricted || rows.allows('event', { cluster: x.labels.cluster ?? '' }))).map(({ v }) => v);
    return { ...x, actions };
  });
}

export function registerAlertRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'alerting'>): void {
  app.get(
    '/api/v1/alerts',
    {
      config: { permission: 'alerts:read' },
      schema: {
        summary: 'Alerts (pending, firing, recently resolved) with their groups, escalation step, silence and inhibition',
        querystring: { type: 'object', additionalProperties: false, properties: { state: { type: 'string', enum: ['pending', 'firing', 'resolved'] }, cluster: str, severity: str } },
        response: ALERTS,
      },
    },
    async (request) => {
      const q = request.query as { state?: string; cluster?: string; severity?: string };
      return { items: withActions(request, visible(request, alerting(deps).list(q))) };
    },
  );

  for (const verb of ['ack', 'resolve'] as const) {
    app.post(
      `/api/v1/alerts/:id/${verb}`,
      {
        config: { permission: `alerts:${verb}` },
        schema: { summary: verb === 'ack' ? 'Acknowledge an alert (fingerprint) or group (group or dedup key): its escalation stops' : 'Resolve an alert or group by hand: resolve notifications go out', params: ID_PARAMS, response: ALERTS },
      },
      async (request) => {
        const { id } = request.params as { id: string };
        const a = alerting(deps);
        // The caller must see the alert before acting on it.
        const mine = visible(request, a.list(), `alerts`).some((x) => x.fingerprint === id || x.groups.some((g) => g.group_key === id || g.dedup_key === id));
        if (!mine) throw new NotFoundError(`no alert or group "${id}"`);
        const who = principal(request).name;
        return { items: withActions(request, verb === 'ack' ? a.ack(id, who) : a.resolve(id, who)) };
      },
    );
  }

  // Alertmanager's API v2 intake: Prometheus (alerting.alertmanagers with path_prefix "/" and a
  // bearer token) pages through the same routes, silences and escalation as the built-in rules.
  app.post(
    '/api/v2/alerts',
    {
      config: { permission: 'alerts:intake' },
      schema: { summary: 'Alertmanager-compatible intake (API v2 postableAlerts): labels, annotations, startsAt, endsAt, generatorURL', body: { type: 'array', items: OBJ }, response: { 200: OBJ } },
    },
    async (request) => {
      const body = request.body as { labels?: Record<string, unknown> }[];
      // A tenant posts only alerts about its own clusters (the filter of its alerts:intake grant).
      const rows = access(request).rows('alerts', 'intake');
      if (!rows.unrestricted) {
        for (const [i, a] of body.entries()) {
          const cluster = typeof a.labels?.cluster === 'string' ? a.labels.cluster : '';
          if (!rows.allows('event', { cluster })) throw new ForbiddenError(`alert ${i}: cluster "${cluster}" is outside what you may post alerts about`);
        }
      }
      const out = alerting(deps).receive(body, principal(request).name);
      setAuditContext(request, { resource: `alerts intake (${out.accepted})` });
      return out;
    },
  );

  app.get(
    '/api/v1/alerts/history',
    {
      config: { permission: 'alerts:read' },
      schema: {
        summary: 'Resolved alerts, newest first, each with its timeline: fired, notified (channel, outcome), acknowledged, resolved',
        querystring: { type: 'object', additionalProperties: false, properties: { cluster: str, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } } },
        response: { 200: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: HISTORY } } } },
      },
    },
    async (request) => {
      const q = request.query as { cluster?: string; limit?: number };
      const rows = access(request).rows('alerts');
      // The tenant filter first, then the limit: a tenant's page is full of its own alerts.
      const all = alerting(deps).listHistory({ ...(q.cluster ? { cluster: q.cluster } : {}), limit: rows.unrestricted ? q.limit : 1_000 });
      const items = rows.unrestricted ? all : all.filter((h) => allowedLabels(request, rows, h.labels)).slice(0, q.limit ?? 100);
      return { items };
    },
  );

  app.get(
    '/api/v1/alerts/deliveries',
    {
      config: { permission: 'alerts:read' },
      schema: {
        summary: 'The delivery log: every attempt of every notification, oldest first (the newest `limit` that match)',
        querystring: { type: 'object', additionalProperties: false, properties: { channel: str, group_key: str, dedup_key: str, outcome: str, limit: { type: 'integer', minimum: 1, maximum: 5000, default: 500 } } },
        response: ITEMS,
      },
    },
    async (request) => {
      const rows = access(request).rows('alerts');
      const items = alerting(deps).listDeliveries(request.query as Record<string, string>);
      // Tenants see only deliveries of groups about their clusters.
      const label = (key: string, name: string) => new RegExp(`[{,]${name}=("(?:[^"\\\\]|\\\\.)*")`).exec(key)?.[1];
      const of = (key: string) => Object.fromEntries(['cluster', 'account'].flatMap((n) => { const v = label(key, n); return v ? [[n, JSON.parse(v) as string]] : []; }));
      return { items: rows.unrestricted ? items : items.filter((d) => allowedLabels(request, rows, of(d.group_key))) };
    },
  );

  app.post(
    '/api/v1/alerts/channels/:id/test',
    { config: { permission: 'alerts:test' }, schema: { summary: 'Send a test notification through a channel; answers its outcome and delivery-log lines', params: ID_PARAMS, response: { 200: OBJ } } },
    async (request) => alerting(deps).testChannel((request.params as { id: string }).id, principal(request).name),
  );

  app.get(
    '/api/v1/silences',
    { config: { permission: 'silences:read' }, schema: { summary: 'Silences (from config and the API), active and recently ended', response: { 200: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: SILENCE } } } } } },
    async (request) => {
      // Config silences cannot be expired through the API; ended ones need no expiring.
      const may = access(request).decide('silences:expire').allowed;
      const now = Date.now();
      return { items: alerting(deps).listSilences().map((x) => ({ ...x, actions: may && x.source === 'api' && Date.parse(x.ends_at) > now ? ['expire'] : [] })) };
    },
  );

  app.post(
    '/api/v1/silences',
    {
      config: { permission: 'silences:create' },
      schema: {
        summary: 'Add a silence: matchers, start (default now), end, comment; the creator is the caller',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['matchers', 'ends_at', 'comment'],
          properties: { matchers: { type: 'array', minItems: 1, maxItems: 32, items: { type: 'string', minLength: 1, maxLength: 512 } }, starts_at: str, ends_at: str, comment: { type: 'string', minLength: 1, maxLength: 1024 } },
        },
        response: { 201: SILENCE },
      },
    },
    async (request, reply) => {
      const body = request.body as { matchers: string[]; starts_at?: string; ends_at: string; comment: string };
      const s = alerting(deps).addSilence(body, principal(request).name);
      setAuditContext(request, { resource: `silence ${s.id}` });
      return reply.code(201).send(s);
    },
  );

  app.delete(
    '/api/v1/silences/:id',
    { config: { permission: 'silences:expire' }, schema: { summary: 'Expire a silence now', params: ID_PARAMS, response: { 200: SILENCE } } },
    async (request) => alerting(deps).expireSilence((request.params as { id: string }).id),
  );

  // Schedules are the region's, not a cluster's: no row filter; contact details are never shown.
  app.get(
    '/api/v1/schedules',
    { config: { permission: 'schedules:read' }, schema: { summary: 'On-call schedules: who is on call now (overrides included) and the next 4 hand-offs', response: ITEMS } },
    async () => ({ items: alerting(deps).schedules() }),
  );

  app.get(
    '/api/v1/alerts/ack-link',
    {
      config: { public: true },
      schema: {
        summary: 'The page behind an ack link: a button that acknowledges (POST)',
        querystring: { type: 'object', properties: { token: { type: 'string', maxLength: 2048 } }, required: ['token'] },
        // An HTML page, not JSON: a link prefetched by a mail scanner must not acknowledge.
        response: { 200: { content: { 'text/html': { schema: { type: 'string' } } } } },
      },
    },
    async (request, reply) => {
      const token = (request.query as { token: string }).token;
      const action = `/api/v1/alerts/ack-link?token=${encodeURIComponent(token)}`;
      return reply.type('text/html; charset=utf-8').send(`<!doctype html><meta charset="utf-8"><title>Acknowledge</title><form method="post" enctype="text/plain" action="${action.replace(/"/g, '&quot;')}"><button type="submit">Acknowledge this alert</button></form>`);
    },
  );

  // The button posts an empty text/plain form (a body type the API parses already).
  app.post(
    '/api/v1/alerts/ack-link',
    {
      config: { public: true, audit_action: 'alerts:ack' },
      schema: { summary: 'Acknowledge through a signed single-use ack link', querystring: { type: 'object', properties: { token: { type: 'string', maxLength: 2048 } }, required: ['token'] }, response: ALERTS },
    },
    async (request, reply) => {
      setAuditContext(request, { user: 'ack-link', resource: 'alert ack link' });
      const a = alerting(deps);
      // A hub group's follower hands the link to the leader (group-link.ts): any hub's link works on any hub, once.
      if (!a.writes()) {
        if (request.headers[RELAYED_BY_HEADER]) throw new AlertingLeaderUnavailableError('relayed to this hub as the leader, but it does not lead (a leader change): try again');
        // A forged or expired link costs no relay (etcd lookups and a TLS connection to the leader).
        a.precheckAckLink((request.query as { token: string }).token);
        const answer = await a.relayToLeader(request.url, { 'content-type': 'text/plain' }, Buffer.alloc(0));
        return reply.code(answer.status as 200).type(answer.contentType).send(answer.body);
      }
      return { items: a.ackWithToken((request.query as { token: string }).token).alerts };
    },
  );
}
