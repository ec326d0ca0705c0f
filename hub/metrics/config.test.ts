import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../shared/config/index.js';
import { hubConfigSchema } from '../config/index.js';

const dir = join(import.meta.dirname, 'testdata');
const load = (name: string) => loadConfigFile(hubConfigSchema, join(dir, name), { env: {} });

describe('hub config: observability', () => {
  it("loads the brief's section as written (Jaeger on its OTLP port) with the guard's defaults", () => {
    const o = load('brief.yaml').observability;
    expect(o.metrics.prometheus).toEqual({ enabled: true, endpoint: '/metrics', push_gateway: 'https://pushgateway.company.com', push_interval: 15_000 });
    expect(o.metrics.max_series).toBe(20_000);
    expect(o.metrics.top_accounts).toBe(100);
    expect(o.tracing.jaeger).toEqual({ enabled: false, endpoint: 'https://jaeger.company.com:4318', sampling_ratio: 0.01 });
  });

  it('defaults: metrics on at /metrics, no push, no tracing', () => {
    const o = hubConfigSchema.parse({ tls: { ca: 'a', cert: 'b', key: 'c' } }).observability;
    expect(o.metrics.prometheus).toEqual({ enabled: true, endpoint: '/metrics', push_interval: 15_000 });
    expect(o.tracing.jaeger.enabled).toBe(false);
  });

  it('tracing on with an OTLP endpoint and a sampling ratio', () => {
    expect(load('tracing-on.yaml').observability.tracing.jaeger).toEqual({ enabled: true, endpoint: 'https://jaeger.company.com:4318', sampling_ratio: 0.01 });
  });

  const cases: [string, string][] = [
    ['jaeger-thrift.yaml', "jaeger-thrift.yaml:6: observability.tracing.jaeger.endpoint: Jaeger's legacy Thrift collector (port 14268, /api/traces) is not spoken: use Jaeger's OTLP/HTTP receiver on port 4318"],
    ['tracing-no-endpoint.yaml', 'observability.tracing.jaeger.endpoint: tracing.jaeger.enabled needs tracing.jaeger.endpoint (e.g. http://jaeger:4318)'],
    ['endpoint-taken.yaml', 'endpoint-taken.yaml:5: observability.metrics.prometheus.endpoint: this path belongs to another route of the hub'],
  ];
  for (const [file, message] of cases) {
    it(`refuses ${file} naming file, line and key`, () => {
      expect(() => load(file)).toThrow(message);
    });
  }
});
