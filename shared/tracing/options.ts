// What a process's tracing is given (agent observe.tracing, hub observability.tracing.jaeger).
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
