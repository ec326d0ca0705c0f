import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Delta } from '../../generated/fleet/v1/agent.js';
import { createLogger } from '../logging/index.js';
import { SpanKind, Tracing } from './index.js';

const logger = createLogger({ name: 'tracing-test', level: 'silent' });

describe('Tracing', () => {
  it('off: no span records and no traceparent travels', async () => {
    const t = await Tracing.create({ enabled: false, samplingRatio: 1, serviceName: 'sfleet-agent' }, logger);
    const span = t.startSpan('agent.poll');
    expect(span.isRecording()).toBe(false);
    expect(t.traceparent(span)).toBeUndefined();
  });

  it("off: a child keeps a valid parent's context, as OpenTelemetry's own no-op tracer does, and ignores a traceparent", async () => {
    const t = await Tracing.create({ enabled: false, samplingRatio: 1, serviceName: 'sfleet-hub' }, logger);
    const parent = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1 };
    const child = t.startSpan('hub.notify', { parent, kind: SpanKind.CLIENT });
    expect(child.isRecording()).toBe(false);
    expect(child.spanContext()).toEqual(parent);
    expect(t.startSpan('next', { parent: child }).spanContext()).toEqual(parent);
    expect(t.startSpan('x', { parent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }).spanContext().traceId).toBe('0'.repeat(32));
    expect(t.startSpan('x', { parent: { ...parent, traceId: '0'.repeat(32) } }).spanContext().traceId).toBe('0'.repeat(32));
    expect(t.links(['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'])).toEqual([]);
  });

  it('a child started from a traceparent joins its trace; the traceparent survives the Delta encoding', async () => {
    const t = await Tracing.create({ enabled: true, endpoint: 'http://127.0.0.1:9/', samplingRatio: 1, serviceName: 'sfleet-agent' }, logger);
    try {
      const poll = t.startSpan('agent.poll');
      const traceparent = t.traceparent(poll)!;
      expect(traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      const wire = Delta.decode(Delta.encode({ cluster: 'c', epoch: 1, seq: 2, upserts: [], removals: [], observed_at: '', snapshot: false, events: [], snapshot_part: 0, snapshot_parts: 0, traceparent }).finish());
      const apply = t.startSpan('hub.apply', { parent: wire.traceparent });
      expect(apply.spanContext().traceId).toBe(poll.spanContext().traceId);
      expect(apply.spanContext().spanId).not.toBe(poll.spanContext().spanId);
      poll.end();
      apply.end();
    } finally {
      await t.close();
    }
  });

  it('ratio 0: a root is not sampled, and nothing travels', async () => {
    const t = await Tracing.create({ enabled: true, endpoint: 'http://127.0.0.1:9/', samplingRatio: 0, serviceName: 'sfleet-agent' }, logger);
    const span = t.startSpan('agent.poll');
    expect(t.traceparent(span)).toBeUndefined();
    await t.close();
  });

  it('an unreachable endpoint: the export fails, is counted by reason, and the spans are dropped', async () => {
    const registry = new Registry();
    const t = await Tracing.create({ enabled: true, endpoint: 'http://127.0.0.1:9', samplingRatio: 1, serviceName: 'sfleet-hub', exportIntervalMs: 50, exportTimeoutMs: 1_000 }, logger);
    await t.registerMetrics(registry, 'sfleet_hub_');
    t.startSpan('hub.apply').end();
    const deadline = Date.now() + 10_000;
    while (t.stats.failed === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(t.stats).toMatchObject({ exported: 0, failedSpans: 1 });
    expect(await registry.getSingleMetricAsString('sfleet_hub_trace_export_failures_total')).toMatch(/reason="unreachable"\} 1/);
    await t.close();
  });

  it('failed exports are logged once per interval, without the credentials of the endpoint', async () => {
    const warnings: unknown[] = [];
    const quiet = { warn: (o: unknown) => warnings.push(o) } as never;
    const t = await Tracing.create({ enabled: true, endpoint: 'http://user:secret@127.0.0.1:9/?token=secret', samplingRatio: 1, serviceName: 'sfleet-hub', exportIntervalMs: 20, exportTimeoutMs: 1_000, logIntervalMs: 60_000 }, quiet);
    const deadline = Date.now() + 10_000;
    while (t.stats.failed < 3 && Date.now() < deadline) {
      t.startSpan('hub.apply').end();
      await new Promise((r) => setTimeout(r, 30));
    }
    expect(t.stats.failed).toBeGreaterThanOrEqual(3);
    expect(warnings).toHaveLength(1);
    expect(JSON.stringify(warnings)).not.toContain('secret');
    await t.close();
  });
});
