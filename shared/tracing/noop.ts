// Tracing off: spans that record nothing, made without loading @opentelemetry/api (the agent and
// hub import tracing.ts at start; the API and the SDK load only when tracing is on). They behave
// as the API's own no-op tracer's: a child of a valid parent carries the parent's context.
import type { Span, SpanContext, SpanKind, SpanStatusCode } from '@opentelemetry/api';

/** OpenTelemetry's SpanKind values (the API's enum, without loading the API). */
export const SPAN_KIND = { INTERNAL: 0, SERVER: 1, CLIENT: 2, PRODUCER: 3, CONSUMER: 4 } as const satisfies Record<keyof typeof SpanKind, SpanKind>;
export const SPAN_STATUS_ERROR: SpanStatusCode.ERROR = 2;

const INVALID: SpanContext = Object.freeze({ traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 });
const TRACE_ID = /^(?!0{32})[0-9a-f]{32}$/i;
const SPAN_ID = /^(?!0{16})[0-9a-f]{16}$/i;

class NoopSpan implements Span {
  constructor(private readonly context: SpanContext) {}
  spanContext(): SpanContext {
    return this.context;
  }
  setAttribute(): this {
    return this;
  }
  setAttributes(): this {
    return this;
  }
  addEvent(): this {
    return this;
  }
  addLink(): this {
    return this;
  }
  addLinks(): this {
    return this;
  }
  setStatus(): this {
    return this;
  }
  updateName(): this {
    return this;
  }
  end(): void {}
  isRecording(): boolean {
    return false;
  }
  recordException(): void {}
}

const ROOT = new NoopSpan(INVALID);

/** A span that records nothing; under a parent span or span context it carries the parent's context (a traceparent string leads nowhere). */
export function noopSpan(parent: Span | SpanContext | string | undefined): Span {
  if (parent === undefined || typeof parent === 'string') return ROOT;
  const context = 'spanContext' in parent ? parent.spanContext() : parent;
  return TRACE_ID.test(context.traceId) && SPAN_ID.test(context.spanId) ? new NoopSpan(context) : ROOT;
}
