// The hub's `observability:` section, as the brief writes it. Tracing speaks OTLP/HTTP
// protobuf (Jaeger's port 4318); Jaeger's legacy Thrift collector (:14268) is refused at load
// with the OTLP port to use instead.
import { z } from 'zod';
import { duration } from '../../shared/config/index.js';
import { otlpEndpoint, samplingRatio } from '../../shared/tracing/index.js';

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
              .describe("A Prometheus Pushgateway URL: the hub's own series (process, HTTP, gRPC, audit, replication, leadership; not the fleet families of jobs, nodes and accounts, which Prometheus scrapes from /metrics) are pushed there too (grouping key job=sfleet-hub, region, hub)."),
            push_interval: duration.refine((ms) => ms >= 500, 'at least 500ms').default(15_000).describe('Time between pushes to the Pushgateway.'),
          })
          .strict()
          .prefault({})
          .describe('Prometheus exposition.'),
        max_series: z.number().int().min(100).max(1_000_000).default(20_000).describe('The cardinality guard: fleet series served at most; over it account, then partition values fold into "other".'),
        top_accounts: z.number().int().min(1).max(100_000).default(100).describe('Accounts served per cluster in sfleet_account_jobs (the busiest by pending + running jobs); the rest sum into account="other".'),
        top_pending_reasons: z.number().int().min(1).max(100).default(10).describe('Pending reasons served per cluster; the rest sum into reason="other".'),
        top_rpc_users: z.number().int().min(1).max(100).default(10).describe('slurmctld RPC users (diag) served per cluster; the rest sum into user="other".'),
      })
      .strict()
      .prefault({})
      .describe('Metrics.'),
    tracing: z
      .object({
        jaeger: z
          .object({
            enabled: z.boolean().default(false).describe('Trace ingest: the apply of each delta an agent traced, as a child of its poll span, exported over OTLP/HTTP protobuf.'),
            endpoint: otlpEndpoint.optional().describe("The OTLP/HTTP endpoint (Jaeger's is port 4318; /v1/traces is added to a bare host:port)."),
            sampling_ratio: samplingRatio,
          })
          .strict()
          .refine((j) => !j.enabled || j.endpoint, { message: 'tracing.jaeger.enabled needs tracing.jaeger.endpoint (e.g. http://jaeger:4318)', path: ['endpoint'] })
          .prefault({})
          .describe('Tracing to Jaeger over OTLP.'),
      })
      .strict()
      .prefault({})
      .describe('Tracing.'),
  })
  .strict()
  .prefault({});

export type ObservabilityConfig = z.infer<typeof observabilityConfigSchema>;
