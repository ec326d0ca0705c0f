// An alert's notifications in the trace of what caused it, exported to a local OTLP receiver that
// decodes with the OTLP protobuf definitions: hub.notify is a child of hub.alert.fire, a child of
// the apply the evaluation that first saw the condition read (not of a later apply), and a later
// escalation step stays in that trace, also when the hub restarted in between (the fire span's
// context is persisted with the alert state). Without a traced apply the fire span is a root.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/** A hub's alerting with tracing to `receiver` (a new one by default); `dataDir` persists its state, as a standalone hub does. */
async function setup(opts: { receiver?: OtlpReceiver; dataDir?: string; clock?: ManualClock } = {}) {
  const receiver = opts.receiver ?? (await OtlpReceiver.start());
  const tracing = await Tracing.create({ enabled: true, endpoint: receiver.url, samplingRatio: 1, serviceName: 'sfleet-hub', exportIntervalMs: 100 }, logger);
  if (!opts.receiver) closers.push(() => receiver.close());
  closers.push(() => tracing.close());
  const clock = opts.clock ?? new ManualClock();
  const fleet = new Fleet(clock);
  const rec = new Recorder();
  let newest: SpanContext | undefined;
  const alerting = new Alerting(config({ policies: { critical: { escalation_time: '5m', channels: ['pagerduty', 'email'] } }, rules: { node_down: { severity: 'critical', for: '30s' }, partition_nodes_unavailable: { enabled: false } } }), {
    state: fleet.state, logger, clock, region: 'eu', notifiers: rec.factory, sleep: async () => undefined, tracing,
    applyCause: (cluster) => (cluster === 'c1' ? newest : undefined),
    ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
  });
  closers.push(() => alerting.close());
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
  return { fleet, rec, alerting, receiver, tracing, clock, apply, step, spans, setNewest: (c: SpanContext | undefined) => (newest = c) };
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

  it("a standalone hub restarted mid-escalation: the next step's notifications are children of the original fire span", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sfleet-alert-trace-'));
    closers.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const first = await setup({ dataDir });
    const cause = first.apply('node n2 goes down');
    first.fleet.down('n2');
    await first.step(0);
    await first.step(30_000); // firing
    await first.step(10_000); // step 1
    expect(first.rec.of('pagerduty').map((n) => n.step)).toEqual([1]);
    const before = await first.spans((s) => s.filter((x) => x.name === 'hub.notify').length >= 2);
    const fire = before.filter((s) => s.name === 'hub.alert.fire');
    expect(fire).toHaveLength(1);
    // the hub stops: its tracing flushed and gone, nothing of it in memory any more
    await first.alerting.close();
    await first.tracing.close();

    const second = await setup({ receiver: first.receiver, dataDir, clock: first.clock });
    second.setNewest(undefined); // the restarted hub has traced no apply of c1
    second.fleet.down('n2');
    await second.step(5 * 60_000); // no ack: step 2, from the restarted hub
    expect(second.rec.of('pagerduty').map((n) => n.step)).toEqual([2]);
    const all = await second.spans((s) => s.filter((x) => x.name === 'hub.notify' && x.attributes['sfleet.step'] === 2).length >= 2);
    const later = all.filter((s) => s.name === 'hub.notify' && s.attributes['sfleet.step'] === 2);
    expect(later.map((s) => s.attributes['sfleet.channel']).sort()).toEqual(['email', 'pagerduty']);
    for (const n of later) {
      expect(n).toMatchObject({ traceId: cause.traceId, parentSpanId: fire[0]!.spanId });
      expect(n.links).toEqual([{ traceId: cause.traceId, spanId: fire[0]!.spanId }]);
    }
    // no second fire span: the alert did not fire again
    expect(all.filter((s) => s.name === 'hub.alert.fire')).toHaveLength(1);
    // and the traceparent is bookkeeping, not part of the alert the API shows
    expect(JSON.stringify(second.alerting.list())).not.toContain(fire[0]!.spanId);
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
