// An alert's notifications in the trace of what caused it, exported to a local OTLP receiver that
// decodes with the OTLP protobuf definitions: hub.notify is a child of hub.alert.fire, a child of
// the apply the evaluation that first saw the condition read (not of a later apply), and a later
// escalation step stays in that trace. Without a traced apply the fire span is a root.
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock/index.js';
import { createLogger } from '../../shared/logging/index.js';
import { Tracing, type SpanContext } from '../../shared/tracing/index.js';
import { OtlpReceiver, type ReceivedSpan } from '../../test/harness/otlp-receiver.js';
import { Alerting } from './alerting.js';
import { config, Fleet, Recorder } from './fleet-fixture.js';

const logger = createLogger({ name: 'test', level: 'silent' });
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

async function setup() {
  const receiver = await OtlpReceiver.start();
  const tracing = await Tracing.create({ enabled: true, endpoint: receiver.url, samplingRatio: 1, serviceName: 'sfleet-hub', exportIntervalMs: 100 }, logger);
  closers.push(() => receiver.close(), () => tracing.close());
  const clock = new ManualClock();
  const fleet = new Fleet(clock);
  const rec = new Recorder();
  let newest: SpanContext | undefined;
  const alerting = new Alerting(config({ policies: { critical: { escalation_time: '5m', channels: ['pagerduty', 'email'] } }, rules: { node_down: { severity: 'critical', for: '30s' }, partition_nodes_unavailable: { enabled: false } } }), {
    state: fleet.state, logger, clock, region: 'eu', notifiers: rec.factory, sleep: async () => undefined, tracing,
    applyCause: (cluster) => (cluster === 'c1' ? newest : undefined),
  });
  /** An apply of cluster c1 (as hub/ingest makes it), now the newest. */
  const apply = (name: string): SpanContext => {
    const span = tracing.startSpan('hub.apply', { attributes: { 'sfleet.name': name } });
    span.end();
    return (newest = span.spanContext());
  };
  const step = async (ms: number) => {
    clock.advance(ms);
    await alerting.tick();
    await alerting.idle();
  };
  const spans = async (want: (s: ReceivedSpan[]) => boolean): Promise<ReceivedSpan[]> => {
    for (let i = 0; i < 100 && !want(receiver.spans); i++) await new Promise((r) => setTimeout(r, 50));
    return receiver.spans;
  };
  return { fleet, rec, apply, step, spans, setNewest: (c: SpanContext | undefined) => (newest = c) };
}

describe('alert traces', () => {
  it("notifications are children of the alert's fire span, itself a child of the apply whose state first showed the condition", async () => {
    const { fleet, rec, apply, step, spans } = await setup();
    const cause = apply('node n2 goes down');
    fleet.down('n2');
    await step(0); // pending: the cause is the newest apply now
    apply('a later, unrelated change');
    await step(30_000); // firing
    await step(10_000); // group_wait: step 1 goes out
    await step(5 * 60_000); // no ack: step 2
    expect(rec.of('pagerduty').map((n) => n.step)).toEqual([1, 2]);
    const all = await spans((s) => s.filter((x) => x.name === 'hub.notify').length >= 4);
    const fire = all.filter((s) => s.name === 'hub.alert.fire');
    expect(fire).toHaveLength(1);
    expect(fire[0]).toMatchObject({ traceId: cause.traceId, parentSpanId: cause.spanId, error: false });
    expect([fire[0]!.attributes['sfleet.alertname'], fire[0]!.attributes['sfleet.cluster']]).toEqual(['node_down', 'c1']);
    const notify = all.filter((s) => s.name === 'hub.notify');
    expect(notify.map((s) => `${s.attributes['sfleet.channel']} ${s.attributes['sfleet.step']}`).sort()).toEqual(['email 1', 'email 2', 'pagerduty 1', 'pagerduty 2']);
    for (const n of notify) {
      expect(n).toMatchObject({ traceId: cause.traceId, parentSpanId: fire[0]!.spanId });
      expect(n.links).toEqual([{ traceId: cause.traceId, spanId: fire[0]!.spanId }]);
    }
  });

  it('with no traced apply of the cluster the fire span is a root, and its notifications still hang under it', async () => {
    const { fleet, step, spans, setNewest } = await setup();
    setNewest(undefined);
    fleet.down('n3');
    await step(0);
    await step(30_000);
    await step(10_000);
    const all = await spans((s) => s.filter((x) => x.name === 'hub.notify').length >= 2);
    const fire = all.find((s) => s.name === 'hub.alert.fire')!;
    expect(fire.parentSpanId).toBe('');
    expect(all.filter((s) => s.name === 'hub.notify').map((s) => s.parentSpanId)).toEqual([fire.spanId, fire.spanId]);
  });
});
