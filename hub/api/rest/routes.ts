// The /api/v1 routes. Each declares its permission (config.permission) or that it is public;
// the server refuses to register a route that declares neither, so no endpoint forgets the gate.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BadRequestError } from '../../../shared/errors/index.js';
import { KINDS, type KindName } from '../../../shared/model/index.js';
import type { CommandRouter } from '../../commands/index.js';
import { parseSince, type EventLog } from '../../events/index.js';
import { JOB_COMMANDS, NODE_COMMANDS } from '../../commands/index.js';
import type { Federation } from '../../federation/index.js';
import type { FleetState } from '../../fleet/index.js';
import { FORWARDED_FILTERS_HEADER, type AccessScope, type Principal } from '../../policy/index.js';
import { watchScope, type WatchFeed } from '../../watch/index.js';
import { checkCommandTarget, scopedClusterStatuses, scopedJob, scopedJobs, scopedList, scopedNode, scopedNodes, scopedPartitions } from '../scoped-queries.js';
import { registerAuthRoutes } from './auth-routes.js';
import { jobView, nodeView } from '../views.js';

export interface RouteDeps {
  state: FleetState;
  commands: CommandRouter;
  watch: WatchFeed;
  readiness: () => { ready: boolean; checks: Record<string, string> };
  metrics: () => Promise<{ contentType: string; body: string }>;
  /** Fleet events (controller failover...); without it /api/v1/events lists nothing. */
  events?: EventLog;
  /** The region's hub instances (GET /api/v1/hubs); standalone: this hub alone. */
  hubs?: () => Promise<object>;
  /** Clustered: the clusters this hub cannot vouch for now, with why (replication staleness). */
  stale?: () => ReadonlyMap<string, string>;
  /** Clustered: the hub that owns each cluster's active agent (etcd), for owner_hub. */
  owner?: (cluster: string) => string | null;
  /** Multi-region: answers scope=global queries (this region merged with the peer regions). */
  federation?: Federation;
}

const str = { type: 'string', maxLength: 256 } as const;
const EVENT_SCHEMA = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    cluster: { type: 'string' },
    type: { type: 'string' },
    severity: { type: 'string' },
    message: { type: 'string' },
    occurred_at: { type: 'string' },
    received_at: { type: 'string' },
    attributes: { type: 'object', additionalProperties: { type: 'string' } },
  },
} as const;
const pageQuery = {
  limit: { type: 'integer', minimum: 1, maximum: 5000 },
  cursor: { type: 'string', maxLength: 512 },
} as const;
/** region (default): this region's hubs only; global: merged with every peer region (regions.peers). */
const scopeQuery = { scope: { type: 'string', enum: ['region', 'global'] } } as const;
/** A global page's cursor carries one cursor per region. */
const globalPageQuery = { ...pageQuery, cursor: { type: 'string', maxLength: 8192 } } as const;

function principal(request: FastifyRequest): Principal {
  return (request as FastifyRequest & { principal: Principal }).principal;
}

/** What this request may do and see (set by the gate in server.ts). */
function access(request: FastifyRequest): AccessScope {
  return (request as FastifyRequest & { access: AccessScope }).access;
}

/** A global query asks the peers on the caller's behalf: they answer only what the caller may see. */
function forwarded(request: FastifyRequest): Record<string, string> {
  return { [FORWARDED_FILTERS_HEADER]: access(request).forwardHeader() };
}

/** Defence in depth: a peer that ignored the forwarded filters must not widen the answer. */
function narrowGlobal<T extends { items: Record<string, unknown>[] }>(answer: T, request: FastifyRequest, resource: string, kind: 'cluster' | 'job' | 'node' | 'partition'): T {
  const rows = access(request).rows(resource);
  return rows.unrestricted ? answer : { ...answer, items: answer.items.filter((i) => rows.allows(kind, i)) };
}

export function registerRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { state, commands, watch } = deps;

  // Replication staleness goes with every answer of a clustered hub, so nothing stale passes for fresh.
  if (deps.stale) {
    const stale = deps.stale;
    app.addHook('onSend', async (request, reply) => {
      if (!request.url.startsWith('/api/v1/')) return;
      const clusters = [...stale().keys()].sort();
      void reply.header('x-sfleet-freshness', clusters.length ? 'stale' : 'fresh');
      if (clusters.length) void reply.header('x-sfleet-stale-clusters', clusters.join(','));
    });
  }

  app.get('/healthz', { config: { public: true }, schema: { summary: 'Liveness' } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { config: { public: true }, schema: { summary: 'Readiness: the data directory is loaded and listeners are up' } }, async (_req, reply) => {
    const r = deps.readiness();
    return reply.code(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not ready', checks: r.checks });
  });

  app.get('/metrics', { config: { permission: 'metrics:read' }, schema: { summary: 'Prometheus metrics' } }, async (_req, reply) => {
    const m = await deps.metrics();
    return reply.type(m.contentType).send(m.body);
  });

  app.get('/api/v1/clusters', { config: { permission: 'cluster:read' }, schema: { summary: 'Clusters and their stream status', querystring: { type: 'object', additionalProperties: false, properties: { ...scopeQuery } } } }, async (request) => {
    const local = (): { items: object[] } => {
      const items = scopedClusterStatuses(state, access(request), deps.owner);
      if (!deps.stale) return { items };
      const stale = deps.stale();
      return { items: items.map((c) => ({ ...c, stale: stale.has(c.name), stale_reason: stale.get(c.name) ?? null })) };
    };
    const q = request.query as { scope?: string };
    return q.scope === 'global' && deps.federation ? narrowGlobal(await deps.federation.query('clusters', q, local, forwarded(request)), request, 'cluster', 'cluster') : local();
  });

  app.get(
    '/api/v1/hubs',
    { config: { permission: 'hub:read' }, schema: { summary: "The region's hub instances: health, leader, what each ingests (from etcd; standalone: this hub)" } },
    async () => (deps.hubs ? deps.hubs() : { items: [] }),
  );

  app.get(
    '/api/v1/jobs',
    {
      config: { permission: 'jobs:read' },
      schema: {
        summary: 'Jobs across the fleet, filtered and paged',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { cluster: str, state: str, user: str, account: str, partition: str, node: str, ...globalPageQuery, ...scopeQuery },
        },
      },
    },
    async (request) => {
      const q = request.query as Record<string, string | number | undefined>;
      const local = (limit?: number, cursor?: string): { items: object[]; next_cursor: string | null } => {
        const page = scopedJobs(
          state,
          access(request),
          { cluster: q.cluster as string, state: q.state as string, user: q.user as string, account: q.account as string, partition: q.partition as string, node: q.node as string },
          limit,
          cursor,
        );
        return { items: page.items.map(jobView), next_cursor: page.next_cursor ?? null };
      };
      return q.scope === 'global' && deps.federation
        ? narrowGlobal(await deps.federation.query('jobs', q, local, forwarded(request)), request, 'jobs', 'job')
        : local(q.limit as number | undefined, q.cursor as string | undefined);
    },
  );

  app.get(
    '/api/v1/jobs/:cluster/:id',
    { config: { permission: 'jobs:read' }, schema: { summary: 'One job', params: { type: 'object', properties: { cluster: str, id: { type: 'string', pattern: '^[0-9]{1,12}$' } } } } },
    async (request) => {
      const { cluster, id } = request.params as { cluster: string; id: string };
      return jobView(scopedJob(state, access(request), cluster, id));
    },
  );

  for (const name of JOB_COMMANDS) {
    app.post(
      `/api/v1/jobs/:cluster/:id/${name}`,
      {
        config: { permission: `jobs:${name}` },
        schema: {
          summary: `${name[0].toUpperCase()}${name.slice(1)} a job through its cluster's agent`,
          params: { type: 'object', properties: { cluster: str, id: { type: 'string', pattern: '^[0-9]{1,12}$' } } },
          body: { type: ['object', 'null'], properties: { reason: { type: 'string', maxLength: 1024 } } },
        },
      },
      async (request) => {
        const { cluster, id } = request.params as { cluster: string; id: string };
        const reason = (request.body as { reason?: string } | null)?.reason ?? '';
        checkCommandTarget(state, access(request), 'jobs', name, cluster, id);
        const result = await commands.run(cluster, name, id, reason, principal(request).name);
        return { ok: result.ok, message: result.message, via: result.via };
      },
    );
  }

  app.get(
    '/api/v1/nodes',
    {
      config: { permission: 'nodes:read' },
      schema: {
        summary: 'Nodes across the fleet',
        querystring: { type: 'object', additionalProperties: false, properties: { cluster: str, state: str, partition: str, ...globalPageQuery, ...scopeQuery } },
      },
    },
    async (request) => {
      const q = request.query as Record<string, string | number | undefined>;
      const local = (limit?: number, cursor?: string): { items: object[]; next_cursor: string | null } => {
        const page = scopedNodes(state, access(request), { cluster: q.cluster as string, state: q.state as string, partition: q.partition as string }, limit, cursor);
        return { items: page.items.map(nodeView), next_cursor: page.next_cursor ?? null };
      };
      return q.scope === 'global' && deps.federation
        ? narrowGlobal(await deps.federation.query('nodes', q, local, forwarded(request)), request, 'nodes', 'node')
        : local(q.limit as number | undefined, q.cursor as string | undefined);
    },
  );

  app.get('/api/v1/nodes/:cluster/:name', { config: { permission: 'nodes:read' }, schema: { summary: 'One node', params: { type: 'object', properties: { cluster: str, name: str } } } }, async (request) => {
    const { cluster, name } = request.params as { cluster: string; name: string };
    return nodeView(scopedNode(state, access(request), cluster, name));
  });

  for (const name of NODE_COMMANDS) {
    app.post(
      `/api/v1/nodes/:cluster/:name/${name}`,
      {
        config: { permission: `nodes:${name}` },
        schema: {
          summary: `${name[0].toUpperCase()}${name.slice(1)} a node through its cluster's agent`,
          params: { type: 'object', properties: { cluster: str, name: str } },
          body: { type: ['object', 'null'], properties: { reason: { type: 'string', maxLength: 1024 } } },
        },
      },
      async (request) => {
        const { cluster, name: node } = request.params as { cluster: string; name: string };
        const reason = (request.body as { reason?: string } | null)?.reason ?? '';
        checkCommandTarget(state, access(request), 'nodes', name, cluster, node);
        const result = await commands.run(cluster, name, node, reason, principal(request).name);
        return { ok: result.ok, message: result.message, via: result.via };
      },
    );
  }

  app.get(
    '/api/v1/partitions',
    { config: { permission: 'cluster:read' }, schema: { summary: 'Partitions', querystring: { type: 'object', additionalProperties: false, properties: { cluster: str, ...scopeQuery } } } },
    async (request) => {
      const q = request.query as { cluster?: string; scope?: string };
      const local = (): { items: object[] } => ({ items: scopedPartitions(state, access(request), q.cluster) });
      return q.scope === 'global' && deps.federation ? narrowGlobal(await deps.federation.query('partitions', q, local, forwarded(request)), request, 'cluster', 'partition') : local();
    },
  );

  for (const [path, kind] of [
    ['reservations', 'reservation'],
    ['qos', 'qos'],
    ['accounts', 'account'],
    ['associations', 'association'],
    ['controllers', 'controller'],
  ] as const) {
    app.get(
      `/api/v1/${path}`,
      { config: { permission: 'cluster:read' }, schema: { summary: `${path[0].toUpperCase()}${path.slice(1)}`, querystring: { type: 'object', additionalProperties: false, properties: { cluster: str } } } },
      async (request) => ({ items: scopedList(state, access(request), kind, (request.query as { cluster?: string }).cluster || undefined) }),
    );
  }

  app.get(
    '/api/v1/events',
    {
      config: { permission: 'cluster:read' },
      schema: {
        summary: 'Fleet events (controller_failover, controller_down, controller_up), oldest first: the newest `limit` that match',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { cluster: str, type: str, since: str, limit: { type: 'integer', minimum: 1, maximum: 5000, default: 500 } },
        },
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: EVENT_SCHEMA } } } },
      },
    },
    async (request) => {
      const q = request.query as { cluster?: string; type?: string; since?: string; limit: number };
      let sinceMs: number | undefined;
      if (q.since) {
        sinceMs = parseSince(q.since, Date.now());
        if (sinceMs === undefined) throw new BadRequestError(`since: "${q.since}" is neither an ISO-8601 time nor a duration such as 15m or 2h`);
      }
      const types = q.type ? q.type.split(',').map((t) => t.trim()).filter(Boolean) : undefined;
      const rows = access(request).rows('cluster');
      // A tenant pinned to one cluster asks the log for that cluster, so `limit` counts its events.
      const only = rows.fixed('cluster');
      const cluster = q.cluster || (only?.length === 1 ? only[0] : undefined);
      const items = deps.events?.list({ cluster, types, sinceMs, limit: q.limit }) ?? [];
      return { items: rows.unrestricted ? items : items.filter((e) => rows.allows('event', e)) };
    },
  );

  app.get(
    '/api/v1/watch',
    {
      config: { permission: 'watch:read' },
      schema: {
        summary: 'Server-Sent Events of fleet changes (upsert, remove, reset) and fleet events (event); resume with Last-Event-ID',
        querystring: { type: 'object', additionalProperties: false, properties: { cluster: str, kinds: str, last_event_id: str } },
      },
    },
    async (request, reply) => serveWatch(request, reply, watch, access(request)),
  );

  registerAuthRoutes(app);
}

function serveWatch(request: FastifyRequest, reply: FastifyReply, watch: WatchFeed, scope: AccessScope): void {
  const q = request.query as { cluster?: string; kinds?: string; last_event_id?: string };
  let kinds: Set<KindName> | undefined;
  // Fleet events come as SSE type "event" unless `kinds` is given without "event".
  let events = true;
  if (q.kinds) {
    kinds = new Set();
    events = false;
    for (const k of q.kinds.split(',')) {
      const kind = k.trim() as KindName;
      if ((kind as string) === 'event') {
        events = true;
        continue;
      }
      if (!KINDS.includes(kind)) {
        throw new BadRequestError(`unknown kind "${k}"; known: ${KINDS.join(', ')}, event`);
      }
      kinds.add(kind);
    }
  }
  const lastEventId = (request.headers['last-event-id'] as string | undefined) ?? q.last_event_id;
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  res.write(`: watching since ${watch.lastId}\nretry: 2000\n\n`);
  const unsubscribe = watch.subscribe({ cluster: q.cluster, kinds, events, scope: watchScope(scope) }, lastEventId, (event) => {
    const data =
      event.type === 'reset'
        ? {}
        : event.type === 'event'
          ? { kind: 'event', cluster: event.cluster, id: event.object_id, object: event.event }
          : { kind: event.kind, cluster: event.cluster, id: event.object_id, object: event.object ? toView(event.kind!, event.object) : null };
    res.write(`id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(data)}\n\n`);
  });
  const keepalive = setInterval(() => res.write(': keepalive\n\n'), 15_000);
  request.raw.on('close', () => {
    clearInterval(keepalive);
    unsubscribe();
  });
}

function toView(kind: KindName, object: unknown): unknown {
  if (kind === 'job') return jobView(object as never);
  if (kind === 'node') return nodeView(object as never);
  return object;
}
