// OpenTelemetry tracing for the agent and the hub: off unless enabled, sampled by ratio at the
// root (the hub follows the agent's decision), exported as OTLP/HTTP protobuf in batches off the
// data path. An unreachable collector costs a dropped batch, never a slower poll or ingest:
// failures are counted (a metric) and logged at most once per interval.
import { defaultTextMapGetter, defaultTextMapSetter, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { ExportResultCode, W3CTraceContextPropagator, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../logging/index.js';
import { VERSION } from '../version.js';

export interface TracingOptions {
  enabled: boolean;
  /** OTLP/HTTP base URL (e.g. http://jaeger:4318) or the full /v1/traces URL. */
  endpoint?: string | undefined;
  /** Share of root traces kept, 0..1. */
  samplingRatio: number;
  serviceName: 'sfleet-agent' | 'sfleet-hub';
  attributes?: Record<string, string>;
  /** How long one export may take before it counts as failed. */
  exportTimeoutMs?: number;
  /** Time between batches sent. */
  exportIntervalMs?: number;
  /** Export failures are logged at most once per this interval. */
  logIntervalMs?: number;
}

const propagator = new W3CTraceContextPropagator();

export class Tracing {
  readonly tracer: Tracer;
  readonly enabled: boolean;
  readonly stats = { exported: 0, failed: 0, failedSpans: 0 };
  private readonly provider?: BasicTracerProvider;
  private failures?: Counter<'reason'>;
  private lastLogged = -Infinity;

  constructor(
    private readonly opts: TracingOptions,
    private readonly logger: Logger,
  ) {
    this.enabled = opts.enabled && !!opts.endpoint;
    if (!this.enabled) {
      this.tracer = trace.getTracer('noop');
      return;
    }
    const exporter = new CountingExporter(new OTLPTraceExporter({ url: tracesUrl(opts.endpoint!), timeoutMillis: opts.exportTimeoutMs ?? 5_000 }), (result, spans) => this.exported(result, spans));
    this.provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': opts.serviceName, 'service.version': VERSION, ...opts.attributes }),
      sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(opts.samplingRatio) }),
      // a bounded queue: when the collector is away, spans are dropped rather than held
      spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: 2048, maxExportBatchSize: 512, scheduledDelayMillis: opts.exportIntervalMs ?? 5_000, exportTimeoutMillis: opts.exportTimeoutMs ?? 5_000 })],
    });
    this.tracer = this.provider.getTracer(opts.serviceName, VERSION);
  }

  /** `<prefix>trace_export_failures_total{reason}` in the process's registry. */
  registerMetrics(registry: Registry, prefix: string): void {
    this.failures = new Counter({ name: `${prefix}trace_export_failures_total`, help: 'Span batches the OTLP endpoint did not take (unreachable, refused, timed out); their spans are dropped', labelNames: ['reason'], registers: [registry] });
  }

  /** A root span (sampled by ratio), or a child of the W3C `traceparent` when one is given. */
  startSpan(name: string, opts: { parent?: Span | string | undefined; attributes?: Record<string, string | number | boolean>; kind?: SpanKind; startTime?: number } = {}): Span {
    const { parent, ...rest } = opts;
    return this.tracer.startSpan(name, rest, parentContext(parent));
  }

  /** The W3C traceparent of a sampled span, to travel with what it made. */
  traceparent(span: Span): string | undefined {
    if (!this.enabled || !span.isRecording()) return undefined;
    const carrier: Record<string, string> = {};
    propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, defaultTextMapSetter);
    return carrier.traceparent;
  }

  async close(): Promise<void> {
    await this.provider?.shutdown().catch(() => undefined);
  }

  private exported(result: ExportResult, spans: number): void {
    if (result.code === ExportResultCode.SUCCESS) {
      this.stats.exported += spans;
      return;
    }
    const message = result.error?.message ?? 'export failed';
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
    span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
  }
  span.end();
}

function parentContext(parent: Span | string | undefined): Context {
  if (parent === undefined) return ROOT_CONTEXT;
  if (typeof parent !== 'string') return trace.setSpan(ROOT_CONTEXT, parent);
  return propagator.extract(ROOT_CONTEXT, { traceparent: parent }, defaultTextMapGetter);
}

function tracesUrl(endpoint: string): string {
  const u = new URL(endpoint);
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/v1/traces';
  return u.toString();
}

/** The endpoint without credentials, for logs. */
function redact(endpoint: string): string {
  const u = new URL(endpoint);
  u.username = '';
  u.password = '';
  u.search = '';
  return u.toString();
}

class CountingExporter implements SpanExporter {
  constructor(
    private readonly inner: SpanExporter,
    private readonly done: (result: ExportResult, spans: number) => void,
  ) {}

  export(spans: ReadableSpan[], callback: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      this.done(result, spans.length);
      callback(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

export { SpanKind };
export type { Span };
