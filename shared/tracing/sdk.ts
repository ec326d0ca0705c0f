// The OpenTelemetry SDK half of tracing: tracer provider, sampler, batch processor, OTLP/HTTP
// protobuf exporter and W3C propagation. Loaded only when tracing is enabled (tracing.ts
// imports it dynamically), so an agent or hub without tracing does not carry it in memory.
import { defaultTextMapGetter, defaultTextMapSetter, ROOT_CONTEXT, trace, type Context, type Link, type Span, type SpanContext, type Tracer } from '@opentelemetry/api';
import { ExportResultCode, W3CTraceContextPropagator, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { VERSION } from '../version.js';
import type { TracingOptions } from './options.js';

export interface TracingSdk {
  tracer: Tracer;
  /** The W3C traceparent of a span. */
  inject(span: Span): string | undefined;
  /** The context whose parent is a W3C traceparent. */
  extract(traceparent: string): Context;
  /** The context of a new span's parent: a span, its context or a W3C traceparent; none, a root. */
  parentContext(parent: Span | SpanContext | string | undefined): Context;
  /** Links to the spans of W3C traceparents (those that do not parse are left out). */
  links(traceparents: readonly string[]): Link[];
  shutdown(): Promise<void>;
}

/** Each finished export: ok, the error's message when not, and how many spans it carried. */
export type ExportOutcome = (ok: boolean, message: string | undefined, spans: number) => void;

const propagator = new W3CTraceContextPropagator();

export function startSdk(opts: TracingOptions & { endpoint: string }, outcome: ExportOutcome): TracingSdk {
  const exporter = new CountingExporter(new OTLPTraceExporter({ url: tracesUrl(opts.endpoint), timeoutMillis: opts.exportTimeoutMs ?? 5_000 }), (result, spans) =>
    outcome(result.code === ExportResultCode.SUCCESS, result.error?.message, spans),
  );
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': opts.serviceName, 'service.version': VERSION, ...opts.attributes }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(opts.samplingRatio) }),
    // a bounded queue: when the collector is away, spans are dropped rather than held
    spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: 2048, maxExportBatchSize: 512, scheduledDelayMillis: opts.exportIntervalMs ?? 5_000, exportTimeoutMillis: opts.exportTimeoutMs ?? 5_000 })],
  });
  const extract = (traceparent: string): Context => propagator.extract(ROOT_CONTEXT, { traceparent }, defaultTextMapGetter);
  return {
    tracer: provider.getTracer(opts.serviceName, VERSION),
    inject(span) {
      const carrier: Record<string, string> = {};
      propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, defaultTextMapSetter);
      return carrier.traceparent;
    },
    extract,
    parentContext(parent) {
      if (parent === undefined) return ROOT_CONTEXT;
      if (typeof parent === 'string') return extract(parent);
      return 'spanContext' in parent ? trace.setSpan(ROOT_CONTEXT, parent) : trace.setSpanContext(ROOT_CONTEXT, parent);
    },
    links(traceparents) {
      const out: Link[] = [];
      for (const tp of traceparents) {
        const context = trace.getSpanContext(extract(tp));
        if (context && trace.isSpanContextValid(context)) out.push({ context });
      }
      return out;
    },
    shutdown: () => provider.shutdown(),
  };
}

function tracesUrl(endpoint: string): string {
  const u = new URL(endpoint);
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/v1/traces';
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
