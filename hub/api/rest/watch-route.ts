// GET /api/v1/watch: Server-Sent Events of fleet changes and fleet events, under the caller's row
// filters, resumable with Last-Event-ID. The stream is hijacked from fastify and lives until the
// client goes away; the route itself passes the same gate as every other.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BadRequestError } from '../../../shared/errors/index.js';
import { KINDS, type Job, type KindName, type Node } from '../../../shared/model/index.js';
import { jobActions, nodeActions } from '../allowed-actions.js';
import type { Visibility } from '../../policy/index.js';
import { deliveryTrace, scopeChanged, watchNames, watchScope, watchVisibility, type WatchBudget, type WatchFeed, type WatchSlot } from '../../watch/index.js';
import type { Tracing } from '../../../shared/tracing/index.js';
import { jobView, nodeView } from '../views.js';
import { str } from './query-schemas.js';
import { textAnswer } from './response-schemas.js';
import { access, principal, recheck } from './request-access.js';

export function registerWatchRoute(app: FastifyInstance, watch: WatchFeed, budget?: WatchBudget, tracing?: Tracing): void {
  app.get(
    '/api/v1/watch',
    {
      config: { permission: 'watch:read' },
      schema: {
        summary: 'Server-Sent Events of fleet changes (upsert, remove, reset), fleet events (event) and cluster connects/disconnects (cluster); resume with Last-Event-ID',
        querystring: { type: 'object', additionalProperties: false, properties: { cluster: str, kinds: str, last_event_id: str } },
        response: { 200: textAnswer('text/event-stream') },
      },
    },
    async (request, reply) => serveWatch(request, reply, watch, access(request), budget, tracing),
  );
}

function serveWatch(request: FastifyRequest, reply: FastifyReply, watch: WatchFeed, visibility: Visibility, budget?: WatchBudget, tracing?: Tracing): void {
  const q = request.query as { cluster?: string; kinds?: string; last_event_id?: string };
  let kinds: Set<KindName> | undefined;
  // Fleet events come as SSE type "event" (cluster status as "cluster") unless `kinds` is given without it.
  let events = true;
  let clusters = true;
  if (q.kinds) {
    kinds = new Set();
    events = false;
    clusters = false;
    for (const k of q.kinds.split(',')) {
      const kind = k.trim() as KindName;
      if ((kind as string) === 'event') {
        events = true;
        continue;
      }
      if ((kind as string) === 'cluster') {
        clusters = true;
        continue;
      }
      if (!KINDS.includes(kind)) {
        throw new BadRequestError(`unknown kind "${k}"; known: ${KINDS.join(', ')}, event, cluster`);
      }
      kinds.add(kind);
    }
  }
  const lastEventId = (request.headers['last-event-id'] as string | undefined) ?? q.last_event_id;
  // Ids name only the clusters the caller may know of.
  const filter = { cluster: q.cluster, kinds, events, clusters, visible: watchVisibility(visibility), names: watchNames(visibility) };
  let sent = lastEventId ?? watch.lastIdFor(filter);
  const res = reply.raw;
  let unsubscribe = (): void => undefined;
  // Taken before the answer starts: over the per-caller cap it is a 429 like any refusal.
  const who = principal(request);
  const scope = watchScope(visibility);
  const slot: WatchSlot | undefined = budget?.open(`${who.method}:${who.name}`, {
    lastEventId: () => sent,
    recheck: async () => {
      if (watchScope(await recheck(request)) !== scope) throw scopeChanged();
    },
    end: (err) => {
      unsubscribe();
      // The reason is the stream's last event (a client that reads again sees it), then it is gone.
      res.end(`event: error\ndata: ${JSON.stringify({ code: err.code, detail: err.message })}\n\n`);
      setTimeout(() => res.destroy(), 1_000).unref();
    },
  });
  reply.hijack();
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  res.write(`: watching since ${watch.lastIdFor(filter)}\nretry: 2000\n\n`);
  res.on('drain', () => slot?.setQueued(res.writableLength));
  const actions = { job: jobActions(visibility), node: nodeActions(visibility) };
  let corked = false;
  const flush = (): void => {
    corked = false;
    res.uncork();
    // What the client has not taken yet, as the transport sees it (its backpressure).
    slot?.setQueued(res.writableLength);
  };
  const traced = deliveryTrace(tracing, { transport: 'sse', watcher: `${who.method}:${who.name}` });
  unsubscribe = watch.subscribe(filter, lastEventId, (event) => {
    const data =
      event.type === 'reset'
        ? {}
        : event.type === 'event'
          ? { kind: 'event', cluster: event.cluster, id: event.object_id, object: event.event }
          : event.type === 'cluster'
            ? { kind: 'cluster', cluster: event.cluster, id: event.object_id, object: event.status }
            : { kind: event.kind, cluster: event.cluster, id: event.object_id, object: event.object ? toView(event.kind!, event.object, actions) : null };
    if (slot && !slot.open) return;
    // One delta's changes arrive in one synchronous burst: held until it ends and written at
    // once, not one TLS record (and syscall) each. Per-event writes let 150 of 1,000 changes/s
    // reach a browser in the dashboard bench; corked, all of them did.
    if (!corked) {
      corked = true;
      res.cork();
      process.nextTick(flush);
    }
    res.write(`id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(data)}\n\n`);
    sent = event.id;
    traced.delivered(event);
    // Counted per event too (corked bytes are in writableLength): a burst over the watcher's
    // budget is cut where it crosses it, not after all of it was queued.
    slot?.setQueued(res.writableLength);
  });
  const keepalive = setInterval(() => res.write(': keepalive\n\n'), 15_000);
  request.raw.on('close', () => {
    clearInterval(keepalive);
    unsubscribe();
    slot?.close();
  });
}

/** As the lists show it: the view with the caller's allowed actions on jobs and nodes. */
function toView(kind: KindName, object: unknown, actions: { job: (j: Job) => string[]; node: (n: Node) => string[] }): unknown {
  if (kind === 'job') return { ...jobView(object as Job), actions: actions.job(object as Job) };
  if (kind === 'node') return { ...nodeView(object as Node), actions: actions.node(object as Node) };
  return object;
}
