// GET /api/v1/watch: Server-Sent Events of fleet changes and fleet events, under the caller's row
// filters, resumable with Last-Event-ID. The stream is hijacked from fastify and lives until the
// client goes away; the route itself passes the same gate as every other.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BadRequestError } from '../../../shared/errors/index.js';
import { KINDS, type Job, type KindName, type Node } from '../../../shared/model/index.js';
import { jobActions, nodeActions } from '../allowed-actions.js';
import type { Visibility } from '../../policy/index.js';
import { credentialExpiry, deliveryTrace, scopeChanged, SharedFrames, watchNames, watchScope, watchVisibility, WatchQueue, type WatchBudget, type WatchEvent, type WatchFeed, type WatchSlot } from '../../watch/index.js';
import type { Tracing } from '../../../shared/tracing/index.js';
import { jobView, nodeView } from '../views.js';
import { str } from './query-schemas.js';
import { textAnswer } from './response-schemas.js';
import { access, principal, recheck } from './request-access.js';

export function registerWatchRoute(app: FastifyInstance, watch: WatchFeed, budget?: WatchBudget, tracing?: Tracing): void {
  // Each event's SSE frame, made once per view (its type, the tenant, the row's actions) for all watchers.
  const frames = new SharedFrames<SseFrame>();
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
    async (request, reply) => serveWatch(request, reply, watch, access(request), frames, budget, tracing),
  );
}

function serveWatch(request: FastifyRequest, reply: FastifyReply, watch: WatchFeed, visibility: Visibility, frames: SharedFrames<SseFrame>, budget?: WatchBudget, tracing?: Tracing): void {
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
  // What the socket has not taken waits here, as shared frames; the socket is given only what it
  // takes. Each frame is a whole HTTP chunk already (size line, data, CRLF), written to the socket
  // as is: res.write would add three more writes per event and watcher (the size as a new string
  // each time), the bulk of what 300 watchers allocated per change once frames were shared.
  const queue = new WatchQueue<SseFrame>(
    (item) => item.chunk.length,
    (item) => {
      sent = item.id;
      const socket = res.socket;
      return !!socket && !socket.destroyed && socket.write(res.chunkedEncoding ? item.chunk : item.frame);
    },
  );
  // Taken before the answer starts: over the per-caller cap it is a 429 like any refusal.
  const who = principal(request);
  const scope = watchScope(visibility);
  const slot: WatchSlot | undefined = budget?.open(`${who.method}:${who.name}`, {
    ...credentialExpiry(who),
    lastEventId: () => sent,
    backlog: () => {
      // A safety net: should a drain be missed, what waits is handed over at the next check.
      if (queue.length && !res.socket?.writableNeedDrain) schedule();
      return queue.bytes + res.writableLength;
    },
    recheck: async () => {
      if (watchScope(await recheck(request)) !== scope) throw scopeChanged();
    },
    end: (err) => {
      unsubscribe();
      queue.clear();
      // The reason is the stream's last event (a client that reads again sees it), then it is gone.
      res.end(`event: error\ndata: ${JSON.stringify({ code: err.code, detail: err.message })}\n\n`);
      setTimeout(() => res.destroy(), 1_000).unref();
    },
  });
  reply.hijack();
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  // The opening frame carries the place this stream starts from as an id (no data, so nothing is
  // dispatched): a browser that loses the connection before any change resumes from it with
  // Last-Event-ID instead of starting afresh and missing what changed meanwhile. A resumed stream
  // starts where the watcher left off (what is replayed comes after it). The comment is for curl.
  const since = lastEventId && !/[\r\n\0]/.test(lastEventId) ? lastEventId : watch.lastIdFor(filter);
  res.write(`: watching since ${since}\nid: ${since}\nretry: 2000\n\n`);
  const actions = { job: jobActions(visibility), node: nodeActions(visibility) };
  const tenant = visibility.tenant?.name ?? '';
  let pumping = false;
  // One delta's changes arrive in one synchronous burst: handed over when it ends, corked into
  // one write, not one TLS record (and syscall) each. Per-event writes let 150 of 1,000
  // changes/s reach a browser in the dashboard bench; corked, all of them did.
  const pump = (): void => {
    pumping = false;
    const socket = res.socket;
    if ((slot && !slot.open) || !socket || socket.destroyed) return;
    socket.cork();
    queue.pump();
    socket.uncork();
    slot?.setQueued(queue.bytes + res.writableLength);
  };
  function schedule(): void {
    if (pumping) return;
    pumping = true;
    process.nextTick(pump);
  }
  // The headers are out (the comment above was written): from here the socket is this stream's alone.
  const socket = res.socket;
  socket?.on('drain', pump);
  const traced = deliveryTrace(tracing, { transport: 'sse', watcher: `${who.method}:${who.name}` });
  unsubscribe = watch.subscribe(filter, lastEventId, (event) => {
    if (slot && !slot.open) return;
    queue.push(sseFrame(frames, event, tenant, actions));
    traced.delivered(event);
    slot?.setQueued(queue.bytes + res.writableLength);
    schedule();
  });
  const keepalive = setInterval(() => {
    if (queue.length === 0) res.write(': keepalive\n\n');
  }, 15_000);
  request.raw.on('close', () => {
    clearInterval(keepalive);
    socket?.off('drain', pump);
    unsubscribe();
    queue.clear();
    slot?.close();
  });
}

/** One event as SSE bytes, and as an HTTP chunk; with its id (where a watcher that was handed it may resume). */
interface SseFrame {
  id: string;
  frame: Buffer;
  chunk: Buffer;
}

/** The event's frame as this watcher sees it: shared with every watcher of the same view (queued by reference). */
function sseFrame(frames: SharedFrames<SseFrame>, event: WatchEvent, tenant: string, actions: Actions): SseFrame {
  const allowed = event.object && (event.kind === 'job' || event.kind === 'node') ? actions[event.kind](event.object as never) : undefined;
  // Keyed by the event's number, not its id: ids differ by the watcher's scope (the clusters it may
  // know of), and keying by them would rebuild the frames at each change of scope in the loop.
  return frames.get(String(event.seq), `${event.id}|${event.type}|${tenant}|${allowed?.join(',') ?? ''}`, () => {
    const data =
      event.type === 'reset'
        ? {}
        : event.type === 'event'
          ? { kind: 'event', cluster: event.cluster, id: event.object_id, object: event.event }
          : event.type === 'cluster'
            ? { kind: 'cluster', cluster: event.cluster, id: event.object_id, object: event.status }
            : { kind: event.kind, cluster: event.cluster, id: event.object_id, object: event.object ? toView(event.kind!, event.object, allowed) : null };
    const text = `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(data)}\n\n`;
    const size = Buffer.byteLength(text);
    const head = `${size.toString(16)}\r\n`;
    // As an HTTP/1.1 chunk (a chunked response, all but HTTP/1.0): size in hex, CRLF, the data, CRLF; the frame is its middle.
    const chunk = Buffer.from(`${head}${text}\r\n`);
    return { id: event.id, frame: chunk.subarray(head.length, head.length + size), chunk };
  });
}

type Actions = { job: (j: Job) => string[]; node: (n: Node) => string[] };

/** As the lists show it: the view with the caller's allowed actions on jobs and nodes. */
function toView(kind: KindName, object: unknown, actions: string[] | undefined): unknown {
  if (kind === 'job') return { ...jobView(object as Job), actions };
  if (kind === 'node') return { ...nodeView(object as Node), actions };
  return object;
}
