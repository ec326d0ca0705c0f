// A caller's trace and request id, continued by the hub: an incoming W3C `traceparent` makes the
// request's server span a child of the caller's span (tracing on; the caller's sampled flag
// decides), and a sane `x-request-id` becomes the request's id, so the answer header, the audit
// record and the hub's log lines carry the caller's own id. Registered first, so requests the gate
// refuses are traced and carry the id too.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import { endSpan, SpanKind, traceIdOf, type Span, type Tracing } from '../../../shared/tracing/index.js';

const SPAN = Symbol('requestSpan');

/** A caller's request id is kept when it is short and plain (it lands in logs and audit records). */
const SANE_ID = /^[\w.:-]{1,128}$/;

/** Fastify's genReqId: the caller's x-request-id when sane, else a new one. */
export function requestIdOf(raw: IncomingMessage): string {
  const given = raw.headers['x-request-id'];
  return typeof given === 'string' && SANE_ID.test(given) ? given : randomUUID();
}

export function registerRequestTrace(app: FastifyInstance, tracing: Tracing | undefined): void {
  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', String(request.id));
    if (!tracing?.enabled) return;
    const span = tracing.startSpan('hub.http', {
      kind: SpanKind.SERVER,
      parent: traceparentOf(request),
      attributes: { 'http.request.method': request.method, 'url.path': request.url.split('?')[0]!, 'sfleet.request_id': String(request.id) },
    });
    (request as FastifyRequest & { [SPAN]?: Span })[SPAN] = span;
  });
  if (!tracing?.enabled) return;
  app.addHook('onResponse', async (request, reply) => {
    const span = (request as FastifyRequest & { [SPAN]?: Span })[SPAN];
    if (!span) return;
    span.setAttribute('http.route', request.routeOptions.url ?? 'unmatched');
    span.setAttribute('http.response.status_code', reply.statusCode);
    endSpan(span, reply.statusCode >= 500 ? `HTTP ${reply.statusCode}` : undefined);
  });
}

/** What a log line about this request carries: its id and, when there is one, its trace id. */
export function requestLogIds(request: FastifyRequest): { request_id: string; trace_id?: string } {
  const traceId = traceIdOf((request as FastifyRequest & { [SPAN]?: Span })[SPAN], traceparentOf(request));
  return { request_id: String(request.id), ...(traceId ? { trace_id: traceId } : {}) };
}

function traceparentOf(request: FastifyRequest): string | undefined {
  const h = request.headers.traceparent;
  return typeof h === 'string' ? h : undefined;
}
