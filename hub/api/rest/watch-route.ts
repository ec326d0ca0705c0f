// GET /api/v1/watch: Server-Sent Events of fleet changes and fleet events, under the caller's row
// filters, resumable with Last-Event-ID. The stream is hijacked from fastify and lives until the
// client goes away; the route itself passes the same gate as every other.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BadRequestError } from '../../../shared/errors/index.js';
import { KINDS, type KindName } from '../../../shared/model/index.js';
import type { Visibility } from '../../policy/index.js';
import { watchVisibility, type WatchFeed } from '../../watch/index.js';
import { jobView, nodeView } from '../views.js';
import { str } from './query-schemas.js';
import { access } from './request-access.js';

export function registerWatchRoute(app: FastifyInstance, watch: WatchFeed): void {
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
}

function serveWatch(request: FastifyRequest, reply: FastifyReply, watch: WatchFeed, visibility: Visibility): void {
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
  const unsubscribe = watch.subscribe({ cluster: q.cluster, kinds, events, visible: watchVisibility(visibility) }, lastEventId, (event) => {
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
