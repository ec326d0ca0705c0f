// The tracing keys the agent (observe.tracing) and the hub (observability.tracing.jaeger) share.
import { z } from 'zod';

export const samplingRatio = z.number().min(0).max(1).default(0.01).describe('Share of polls traced (0..1); the hub follows the agent, so one ratio sets both.');

export const otlpEndpoint = z
  .url({ protocol: /^https?$/ })
  .refine((u) => !isJaegerThrift(u), "Jaeger's legacy Thrift collector (port 14268, /api/traces) is not spoken: use Jaeger's OTLP/HTTP receiver on port 4318 (e.g. https://jaeger.example.com:4318)");

function isJaegerThrift(url: string): boolean {
  const u = new URL(url);
  return u.port === '14268' || u.pathname.startsWith('/api/traces');
}
