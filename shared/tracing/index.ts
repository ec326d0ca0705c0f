export { endSpan, SpanKind, traceIdOf, traceparentOf, Tracing, type Link, type Span, type SpanContext, type TracingOptions } from './tracing.js';
export { otlpEndpoint, samplingRatio } from './config.js';
