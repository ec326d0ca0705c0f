// Times every call of a gRPC service implementation into the hub's histogram: unary calls until
// their callback, streams until they end or are cancelled. Wraps the handlers, so a new RPC is
// timed without anyone remembering to.
import { status, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Histogram } from 'prom-client';

type Handler = (...args: unknown[]) => unknown;

export function timeGrpcService<T extends UntypedServiceImplementation>(definition: ServiceDefinition, impl: T, histogram: Histogram<'method' | 'code'>): T {
  const out: UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(impl)) {
    const method = definition[name];
    const fn = handler as unknown as Handler;
    if (!method || method.requestStream) {
      out[name] = handler;
      continue;
    }
    const label = (method.originalName as string | undefined) ?? name;
    if (!method.responseStream) {
      out[name] = ((call: unknown, callback: (err: { code?: number } | null, ...rest: unknown[]) => void) => {
        const end = histogram.startTimer({ method: label });
        return fn(call, (err: { code?: number } | null, ...rest: unknown[]) => {
          end({ code: codeName(err ? (err.code ?? status.UNKNOWN) : status.OK) });
          callback(err, ...rest);
        });
      }) as never;
    } else {
      out[name] = ((call: { once(event: string, fn: (...a: unknown[]) => void): void }) => {
        const end = histogram.startTimer({ method: label });
        let done = false;
        const finish = (code: number) => {
          if (done) return;
          done = true;
          end({ code: codeName(code) });
        };
        call.once('finish', () => finish(status.OK));
        call.once('cancelled', () => finish(status.CANCELLED));
        call.once('error', (err) => finish((err as { code?: number }).code ?? status.UNKNOWN));
        return fn(call);
      }) as never;
    }
  }
  return out as T;
}

function codeName(code: number): string {
  return status[code] ?? String(code);
}
