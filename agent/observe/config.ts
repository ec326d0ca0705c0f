// The agent's `observe:` section: its own /metrics and /healthz listener (off unless `listen` is
// set) and pushes to a Pushgateway. Off loopback the listener holds a fleet's inventory, so it
// must be TLS with a client CA, or TLS with a bearer file: refused at load otherwise.
import { z } from 'zod';
import { duration, hostPort } from '../../shared/config/fields.js';
import { otlpEndpoint, samplingRatio } from '../../shared/tracing/index.js';

export const observeConfigSchema = z
  .object({
    listen: hostPort.optional().describe('host:port of the /metrics and /healthz listener (e.g. 127.0.0.1:9464); absent: no listener.'),
    tls: z
      .object({
        cert: z.string().min(1).describe('PEM file: the listener certificate.'),
        key: z.string().min(1).describe('PEM file: its private key.'),
        client_ca: z.string().min(1).optional().describe('PEM file: scrapers must present a certificate chaining to this CA.'),
      })
      .strict()
      .optional()
      .describe('HTTPS for the listener; required off loopback.'),
    bearer_file: z.string().min(1).optional().describe('A file holding the bearer token scrapers must send (Authorization: Bearer ...).'),
    push_gateway: z
      .object({
        url: z.url({ protocol: /^https?$/ }).describe('The Pushgateway, e.g. http://pushgateway:9091.'),
        interval: duration.default(15_000).describe('Time between pushes.'),
        job: z.string().min(1).default('sfleet-agent').describe('The job label of the grouping key (then cluster and agent).'),
      })
      .strict()
      .optional()
      .describe("Pushes the agent's series to a Prometheus Pushgateway; the group is deleted on a clean shutdown."),
    tracing: z
      .object({
        enabled: z.boolean().default(false).describe('Trace polls: a span per poll with its Slurm reads, spool write and send; the trace continues at the hub.'),
        endpoint: otlpEndpoint.optional().describe("The OTLP/HTTP endpoint (Jaeger's is port 4318; /v1/traces is added to a bare host:port)."),
        sampling_ratio: samplingRatio,
      })
      .strict()
      .refine((t) => !t.enabled || t.endpoint, { message: 'observe.tracing.enabled needs observe.tracing.endpoint (e.g. http://jaeger:4318)', path: ['endpoint'] })
      .prefault({})
      .describe('OpenTelemetry tracing, exported as OTLP/HTTP protobuf.'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (!c.listen || isLoopback(c.listen)) return;
    if (!c.tls) ctx.addIssue({ code: 'custom', path: ['tls'], message: `listen ${c.listen} is not loopback: it needs tls (with client_ca, or a bearer_file)` });
    else if (!c.tls.client_ca && !c.bearer_file) ctx.addIssue({ code: 'custom', path: ['tls', 'client_ca'], message: `listen ${c.listen} is not loopback: set tls.client_ca or bearer_file so scrapers authenticate` });
  })
  .prefault({});

export function isLoopback(listen: string): boolean {
  const host = listen.slice(0, listen.lastIndexOf(':')).replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export type ObserveConfig = z.infer<typeof observeConfigSchema>;
