// The hub's `observability:` section, as the brief writes it. Metrics act now; a tracing
// exporter is not built yet, so `tracing.jaeger.enabled: true` is refused at load rather than
// accepted and ignored, and Jaeger's legacy Thrift collector (:14268) is refused with the OTLP
// port to use instead.
import { z } from 'zod';
import { duration } from '../../shared/config/index.js';

const RESERVED = ['/api/', '/healthz', '/readyz', '/login', '/dashboard'];

export const observabilityConfigSchema = z
  .object({
    metrics: z
      .object({
        prometheus: z
          .object({
            enabled: z.boolean().default(true).describe('Serve the Prometheus metrics on the HTTPS listener (false: no metrics route).'),
            endpoint: z
              .string()
              .regex(/^\/[A-Za-z0-9._~/-]*$/, 'an absolute URL path such as /metrics')
              .refine((p) => !RESERVED.some((r) => p === r || p.startsWith(r.endsWith('/') ? r : `${r}/`) || p === r.replace(/\/$/, '')), 'this path belongs to another route of the hub')
              .default('/metrics')
              .describe('The URL path of the metrics (same permission, metrics:read, wherever it is).'),
            push_gateway: z
              .url({ protocol: /^https?$/ })
              .optional()
              .describe("A Prometheus Pushgateway URL: the hub's own series are pushed there too (grouping key job=sfleet-hub, region, hub)."),
            push_interval: duration.refine((ms) => ms >= 500, 'at least 500ms').default(15_000).describe('Time between pushes to the Pushgateway.'),
          })
          .strict()
          .prefault({})
          .describe('Prometheus exposition.'),
        max_series: z.number().int().min(100).max(1_000_000).default(20_000).describe('The cardinality guard: fleet series served at most; over it account, then partition values fold into "other".'),
        top_pending_reasons: z.number().int().min(1).max(100).default(10).describe('Pending reasons served per cluster; the rest sum into reason="other".'),
      })
      .strict()
      .prefault({})
      .describe('Metrics.'),
    tracing: z
      .object({
        jaeger: z
          .object({
            enabled: z
              .boolean()
              .default(false)
              .refine((on) => !on, 'trace export is not available in this release; leave tracing.jaeger.enabled false')
              .describe('Trace export (not available yet: must be false).'),
            endpoint: z
              .url({ protocol: /^https?$/ })
              .refine((u) => !isJaegerThrift(u), "Jaeger's legacy Thrift collector (port 14268, /api/traces) is not spoken: use Jaeger's OTLP/HTTP receiver on port 4318 (e.g. https://jaeger.example.com:4318)")
              .optional()
              .describe("An OTLP/HTTP endpoint (Jaeger's is port 4318)."),
          })
          .strict()
          .prefault({})
          .describe('Tracing to Jaeger over OTLP.'),
      })
      .strict()
      .prefault({})
      .describe('Tracing.'),
  })
  .strict()
  .prefault({});

function isJaegerThrift(url: string): boolean {
  const u = new URL(url);
  return u.port === '14268' || u.pathname.startsWith('/api/traces');
}

export type ObservabilityConfig = z.infer<typeof observabilityConfigSchema>;
