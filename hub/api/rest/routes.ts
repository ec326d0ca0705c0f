// The /api/v1 routes. Each declares its permission (config.permission) or that it is public;
// the server refuses to register a route that declares neither, so no endpoint forgets the gate.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NotFoundError } from '../../../shared/errors/index.js';
import { KINDS, type KindName } from '../../../shared/model/index.js';
import type { CommandRouter } from '../../commands/index.js';
import { JOB_COMMANDS, NODE_COMMANDS } from '../../commands/index.js';
import { queryJobs, queryNodes, queryPartitions, type FleetState } from '../../fleet/index.js';
import type { Principal } from '../../policy/index.js';
import type { WatchFeed } from '../../watch/index.js';
import { clusterStatuses } from '../cluster-status.js';
import { jobView, nodeView } from '../views.js';

export interface RouteDeps {
  state: FleetState;
  commands: CommandRouter;
  watch: WatchFeed;
  readiness: () => { ready: boolean; checks: Record<string, string> };
  metrics: () => Promise<{ contentType: string; body: string }>;
}

const str = { type: 'string', maxLength: 256 } as const;
const pageQuery = {
  limit: { type: 'integer', minimum: 1, maximum: 5000 },
  cursor: { type: 'string', maxLength: 512 },
} as const;

function principal(request: FastifyRequest): Principal {
  return (request as FastifyRequest & { principal: Principal }).principal;
}

export function registerRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { state, commands, watch } = deps;

  app.get('/healthz', { config: { public: true }, schema: { summary: 'Liveness' } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { config: { public: true }, schema: { summary: 'Readiness: the data directory is loaded and listeners are up' } }, async (_req, reply) => {
    const r = deps.readiness();
    return reply.code(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not ready', checks: r.checks });
  });

  app.get('/metrics', { config: { permission: 'metrics:read' }, schema: { summary: 'Prometheus metrics' } }, async (_req, reply) => {
    const m = await deps.metrics();
    return reply.type(m.contentType).send(m.body);
  });

  app.get('/api/v1/clusters', { config: { permission: 'clusters:read' }, schema: { summary: 'Clusters and their stream status' } }, async () => ({
    items: clusterStatuses(state),
  }));

  app.get(
    '/api/v1/jobs',
    {
      config: { permission: 'jobs:read' },
      schema: {
        summary: 'Jobs across the fleet, filtered and paged',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { cluster: str, state: str, user: str, account: str, partition: str, node: str, ...pageQuery },
        },
      },
    },
    async (request) => {
      const q = request.query as Record<string, string | number | undefined>;
      const page = queryJobs(
        state,
        { cluster: q.cluster as string, state: q.state as string, user: q.user as string, account: q.account as string, partition: q.partition as string, node: q.node as string },
        q.limit as number | undefined,
        q.cursor as string | undefined,
      );
      return { items: page.items.map(jobView), next_cursor: page.next_cursor ?? null };
    },
  );

  app.get(
    '/api/v1/jobs/:cluster/:id',
    { config: { permission: 'jobs:read' }, schema: { summary: 'One job', params: { type: 'object', properties: { cluster: str, id: { type: 'string', pattern: '^[0-9]{1,12}$' } } } } },
    async (request) => {
      const { cluster, id } = request.params as { cluster: string; id: string };
      const job = state.job(cluster, id);
      if (!job) throw new NotFoundError(`job ${cluster}/${id} not found`);
      return jobView(job);
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
        querystring: { type: 'object', additionalProperties: false, properties: { cluster: str, state: str, partition: str, ...pageQuery } },
      },
    },
    async (request) => {
      const q = request.query as Record<string, string | number | undefined>;
      const page = queryNodes(state, { cluster: q.cluster as string, state: q.state as string, partition: q.partition as string }, q.limit as number | undefined, q.cursor as string | undefined);
      return { items: page.items.map(nodeView), next_cursor: page.next_cursor ?? null };
    },
  );

  app.get('/api/v1/nodes/:cluster/:name', { config: { permission: 'nodes:read' }, schema: { summary: 'One node', params: { type: 'object', properties: { cluster: str, name: str } } } }, async (request) => {
    const { cluster, name } = request.params as { cluster: string; name: string };
    const node = state.clusters.get(cluster)?.objects.node.get(name);
    if (!node) throw new NotFoundError(`node ${cluster}/${name} not found`);
    return nodeView(node);
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
        const result = await commands.run(cluster, name, node, reason, principal(request).name);
        return { ok: result.ok, message: result.message, via: result.via };
      },
    );
  }

  app.get(
    '/api/v1/partitions',
    { config: { permission: 'partitions:read' }, schema: { summary: 'Partitions', querystring: { type: 'object', additionalProperties: false, properties: { cluster: str } } } },
    async (request) => ({ items: queryPartitions(state, (request.query as { cluster?: string }).cluster) }),
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
      { config: { permission: `${path}:read` }, schema: { summary: `${path[0].toUpperCase()}${path.slice(1)}`, querystring: { type: 'object', additionalProperties: false, properties: { cluster: str } } } },
      async (request) => ({ items: state.list(kind, (request.query as { cluster?: string }).cluster || undefined) }),
    );
  }

  app.get(
    '/api/v1/watch',
    {
      config: { permission: 'watch:read' },
      schema: {
        summary: 'Server-Sent Events of fleet changes; resume with Last-Event-ID',
        querystring: { type: 'object', additionalProperties: false, properties: { cluster: str, kinds: str, last_event_id: str } },
      },
    },
    async (request, reply) => serveWatch(request, reply, watch),
  );
}

function serveWatch(request: FastifyRequest, reply: FastifyReply, watch: WatchFeed): void {
  const q = request.query as { cluster?: string; kinds?: string; last_event_id?: string };
  let kinds: Set<KindName> | undefined;
  if (q.kinds) {
    kinds = new Set();
    for (const k of q.kinds.split(',')) {
      const kind = k.trim() as KindName;
      if (!KINDS.includes(kind)) {
        void reply.code(400).type('application/problem+json').send({ type: 'about:blank', title: 'BadRequestError', status: 400, code: 'SF_API_BAD_REQUEST', detail: `unknown kind "${k}"; known: ${KINDS.join(', ')}` });
        return;
      }
      kinds.add(kind);
    }
  }
  const lastEventId = (request.headers['last-event-id'] as string | undefined) ?? q.last_event_id;
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  res.write(`: watching since ${watch.lastId}\nretry: 2000\n\n`);
  const unsubscribe = watch.subscribe({ cluster: q.cluster, kinds }, lastEventId, (event) => {
    const data = event.type === 'reset' ? {} : { kind: event.kind, cluster: event.cluster, id: event.object_id, object: event.object ? toView(event.kind!, event.object) : null };
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
