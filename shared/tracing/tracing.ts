// OpenTelemetry tracing for the agent and the hub: off unless enabled, sampled by ratio at the
// root (the hub follows the agent's decision), exported as OTLP/HTTP protobuf in batches off the
// data path. An unreachable collector costs a dropped batch, never a slower poll or ingest:
// failures are counted (a metric) and logged at most once per interval.
// Nothing here loads @opentelemetry/api (types only): off, spans are this file's no-op spans, so
// an agent without tracing holds none of OpenTelemetry (about 1.2 MiB of its idle RSS).
import type { SpanKind as OtelSpanKind, Link, Span, SpanContext } from '@opentelemetry/api';
import type { Counter, Registry } from 'prom-client';
import type { Logger } from '../logging/index.js';
import { noopSpan, SPAN_KIND, SPAN_STATUS_ERROR } from './noop.js';
import type { TracingOptions } from './options.js';
import type { TracingSdk } from './sdk.js';

export type { TracingOptions } from './options.js';

export class Tracing {
  readonly enabled: boolean;
  readonly stats = { exported: 0, failed: 0, failedSpans: 0 };
  private readonly sdk?: TracingSdk;
  private failures?: Counter<'reason'>;
  private lastLogged = -Infinity;

  /** Loads the OpenTelemetry SDK only when tracing is on (it costs a few MiB of every process). */
  static async create(opts: TracingOptions, logger: Logger): Promise<Tracing> {
    if (!opts.enabled || !opts.endpoint) return new Tracing(opts, logger);
    const { startSdk } = await import('./sdk.js');
    return new Tracing(opts, logger, startSdk);
  }

  private constructor(
    private readonly opts: TracingOptions,
    private readonly logger: Logger,
    start?: typeof import('./sdk.js').startSdk,
  ) {
    this.enabled = opts.enabled && !!opts.endpoint && start !== undefined;
    if (!this.enabled || !start) return;
    this.sdk = start({ ...opts, endpoint: opts.endpoint! }, (ok, message, spans) => this.exported(ok, message, spans));
  }

  /** `<prefix>trace_export_failures_total{reason}` in the process's registry (prom-client loads here: an agent without metrics never does). */
  async registerMetrics(registry: Registry, prefix: string): Promise<void> {
    const { Counter } = await import('prom-client');
    this.failures = new Counter({ name: `${prefix}trace_export_failures_total`, help: 'Span batches the OTLP endpoint did not take (unreachable, refused, timed out); their spans are dropped', labelNames: ['reason'], registers: [registry] });
  }

  /** A root span (sampled by ratio), or a child of the parent (a span, its context, or a W3C `traceparent`) when one is given. */
  startSpan(name: string, opts: { parent?: Span | SpanContext | string | undefined; attributes?: Record<string, string | number | boolean>; kind?: OtelSpanKind; startTime?: number; links?: Link[] } = {}): Span {
    const { parent, ...rest } = opts;
    return this.sdk ? this.sdk.tracer.startSpan(name, rest, this.sdk.parentContext(parent)) : noopSpan(parent);
  }

  /** Links to the spans of W3C traceparents (those that do not parse are left out). */
  links(traceparents: readonly string[]): Link[] {
    return this.sdk ? this.sdk.links(traceparents) : [];
  }

  /** The W3C traceparent of a sampled span, to travel with what it made. */
  traceparent(span: Span): string | undefined {
    if (!this.sdk || !span.isRecording()) return undefined;
    return this.sdk.inject(span);
  }

  async close(): Promise<void> {
    await this.sdk?.shutdown().catch(() => undefined);
  }

  private exported(ok: boolean, error: string | undefined, spans: number): void {
    if (ok) {
      this.stats.exported += spans;
      return;
    }
    const message = error ?? 'export failed';
    const reason = /timeout|timed out/i.test(message) ? 'timeout' : /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ECONNRESET|fetch failed|socket/i.test(message) ? 'unreachable' : 'refused';
    this.stats.failed++;
    this.stats.failedSpans += spans;
    this.failures?.inc({ reason });
    const now = Date.now();
    if (now - this.lastLogged >= (this.opts.logIntervalMs ?? 60_000)) {
      this.lastLogged = now;
      this.logger.warn({ endpoint: redact(this.opts.endpoint!), reason, err: message, spans, failed_batches: this.stats.failed }, 'could not export spans to the OTLP endpoint; dropping them (logged once per interval)');
    }
  }
}

/** Ends a span with an error status when `err` is given. */
export function endSpan(span: Span, err?: unknown): void {
  if (err !== undefined) {
    span.recordException(err instanceof Error ? err : new Error(String(err)));
    span.setStatus({ code: SPAN_STATUS_ERROR, message: err instanceof Error ? err.message : String(err) });
  }
  span.end();
}

/** The endpoint without credentials, for logs. */
function redact(endpoint: string): string {
  const u = new URL(endpoint);
  u.username = '';
  u.password = '';
  u.search = '';
  return u.toString();
}

/**
 * The trace id a log line should carry: the span's when it records, else the caller's from its
 * W3C traceparent (tracing off or not sampled, the caller's trace still finds the line).
 */
export function traceIdOf(span: Span | undefined, traceparent: string | undefined): string | undefined {
  if (span?.isRecording()) return span.spanContext().traceId;
  const m = typeof traceparent === 'string' ? TRACEPARENT.exec(traceparent.trim()) : null;
  return m && m[1] !== ZERO_TRACE ? m[1] : undefined;
}

/** The W3C traceparent of a span context (its sampled flag as given). */
export function traceparentOf(ctx: SpanContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${(ctx.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;
const ZERO_TRACE = '0'.repeat(32);

/** OpenTelemetry's SpanKind values, without loading it. */
export const SpanKind = SPAN_KIND;
export type SpanKind = OtelSpanKind;
export type { Link, Span, SpanContext };
