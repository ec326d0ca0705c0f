export { endSpan, SpanKind, Tracing, type Span, type TracingOptions } from './tracing.js';
export { otlpEndpoint, samplingRatio } from './config.js';
