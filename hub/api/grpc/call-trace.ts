// The gRPC twin of rest/request-trace.ts: each FleetService call gets a server span, a child of
// the caller's `traceparent` metadata when it sends one (its sampled flag decides). Unary calls
// end at their callback, streams (Watch) when they finish or are cancelled. Wraps the handlers,
// so a new RPC is traced without anyone remembering to. The request id is the audit wrapper's
// (grpc-audit.ts takes the caller's `x-request-id` metadata).
import { status, type Metadata, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { endSpan, SpanKind, type Span, type Tracing } from '../../../shared/tracing/index.js';

type Handler = (...args: unknown[]) => unknown;
type Call = { metadata?: Metadata; once(event: string, fn: (...a: unknown[]) => void): void };

export function traceGrpcService<T extends UntypedServiceImplementation>(definition: ServiceDefinition, impl: T, tracing: Tracing): T {
  if (!tracing.enabled) return impl;
  const out: UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(impl)) {
    const method = definition[name];
    const fn = handler as unknown as Handler;
    if (!method || method.requestStream) {
      out[name] = handler;
      continue;
    }
    // Named as OpenTelemetry's RPC conventions name a server span: package.Service/Method.
    const full = method.path.replace(/^\//, '');
    const label = full.slice(full.lastIndexOf('/') + 1);
    const start = (call: Call): Span => {
      const given = call.metadata?.get('traceparent')[0];
      const requestId = call.metadata?.get('x-request-id')[0];
      return tracing.startSpan(full, {
        kind: SpanKind.SERVER,
        parent: typeof given === 'string' ? given : undefined,
        attributes: { 'rpc.system': 'grpc', 'rpc.service': full.slice(0, full.lastIndexOf('/')), 'rpc.method': label, ...(typeof requestId === 'string' ? { 'sfleet.request_id': requestId.slice(0, 128) } : {}) },
      });
    };
    const finish = (span: Span, code: number): void => {
      span.setAttribute('rpc.grpc.status_code', code);
      endSpan(span, code === status.OK || code === status.CANCELLED ? undefined : status[code] ?? String(code));
    };
    if (!method.responseStream) {
      out[name] = ((call: Call, callback: (err: { code?: number } | null, ...rest: unknown[]) => void) => {
        const span = start(call);
        return fn(call, (err: { code?: number } | null, ...rest: unknown[]) => {
          finish(span, err ? (err.code ?? status.UNKNOWN) : status.OK);
          callback(err, ...rest);
        });
      }) as never;
    } else {
      out[name] = ((call: Call) => {
        const span = start(call);
        let done = false;
        const end = (code: number) => {
          if (done) return;
          done = true;
          finish(span, code);
        };
        call.once('finish', () => end(status.OK));
        call.once('cancelled', () => end(status.CANCELLED));
        call.once('error', (err) => end((err as { code?: number }).code ?? status.UNKNOWN));
        return fn(call);
      }) as never;
    }
  }
  return out as T;
}
