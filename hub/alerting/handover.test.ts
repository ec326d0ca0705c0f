// A hub group's alerting across a leader change, in-process: two hubs' Alerting on one fenced
// document (the region's Redis in production; here a memory one with the same fence rule). The
// new leader continues the escalation at its deadline, sends again what was claimed and not
// settled (marked possible_duplicate, the same Idempotency-Key), a deposed leader's writes are
// refused so it sends nothing, and a follower changes nothing.
import { describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../shared/clock/index.js';
import { createLogger } from '../../shared/logging/index.js';
import { FencedOffError, type LeaderContext } from '../leader/index.js';
import type { FencedDocument } from '../replication/index.js';
import { Alerting } from './alerting.js';
import type { ChannelConfig } from './config.js';
import { config, Fleet } from './fleet-fixture.js';
import { HEADLESS_GRACE_MS } from './headless.js';
import type { Notification, Notifier } from './notify/index.js';

const logger = createLogger({ name: 'test', level: 'silent' });
const MIN = 60_000;
const TTL = 3_000;

class MemoryDocument implements FencedDocument {
  fence = 0;
  text?: string;
  writes = 0;
  async get(): Promise<string | undefined> {
    return this.text;
  }
  async put(token: number, text: string): Promise<void> {
    if (token < this.fence) throw new FencedOffError(`token ${this.fence} has written since`);
    this.fence = token;
    this.text = text;
    this.writes++;
  }
}

/** Channels that record each send; `hang` holds a channel's requests open (a receiver that never answers). */
class Channels {
  readonly sent: { hub: string; channel: string; n: Notification }[] = [];
  hang = new Set<string>();
  factory = (hub: string) => (c: ChannelConfig): Notifier => ({
    name: c.name,
    type: c.type,
    send: async (n) => {
      this.sent.push({ hub, channel: c.name, n });
      if (this.hang.has(c.name)) await new Promise(() => undefined);
      return { outcome: 'delivered' };
    },
  });
  of(hub: string): string[] {
    return this.sent.filter((s) => s.hub === hub).map((s) => `${s.channel}:${s.n.status}:${s.n.step}`);
  }
}

function term(token: number): { ctx: LeaderContext; end: () => void } {
  const c = new AbortController();
  return { ctx: { region: 'eu', hubId: 'h', token, signal: c.signal, assertLeading: () => undefined, put: async () => undefined, get: async () => undefined }, end: () => c.abort() };
}

/** `leaderless`: the hubs page alone after the lease TTL + 10 s without a leader (headless.ts). */
function setup(opts: { leaderless?: () => string | null; evaluation?: string; sharedLog?: MemoryDocument } = {}) {
  const clock = new ManualClock(Date.parse('2026-12-07T03:00:00Z'));
  const fleet = new Fleet(clock);
  const doc = new MemoryDocument();
  const channels = new Channels();
  const cfg = config({
    evaluation_interval: opts.evaluation ?? '1h',
    rules: { node_down: { severity: 'critical', for: 0 }, partition_nodes_unavailable: { enabled: false } },
    policies: { critical: { escalation_time: '5m', channels: ['pagerduty', 'slack'], repeat: 3 } },
  });
  const leaderless = opts.leaderless ? { leaderless: { afterMs: TTL, leader: opts.leaderless } } : {};
  const log = opts.sharedLog ? { sharedLog: opts.sharedLog } : {};
  const hub = (id: string) => new Alerting(cfg, { state: fleet.state, logger, clock, region: 'eu', shared: doc, notifiers: channels.factory(id), sleep: async () => undefined, ...leaderless, ...log });
  return { clock, fleet, doc, channels, a: hub('a'), b: hub('b') };
}

/** Starts a's term and waits until its first evaluation is written under its token. */
async function lead(h: Alerting, doc: MemoryDocument, token: number) {
  const t = term(token);
  void h.singleton().run(t.ctx);
  await vi.waitFor(() => expect(doc.fence).toBe(token));
  return t;
}

describe('alerting in a hub group: the state is the region\'s, under the leader\'s fence', () => {
  it('the next leader continues the escalation at its deadline; the deposed one is refused and sends nothing', async () => {
    const { clock, fleet, doc, channels, a, b } = setup();
    fleet.down('n1');
    const ta = await lead(a, doc, 10);
    clock.advance(10_000); // group_wait
    await a.tick();
    await a.idle();
    expect(channels.of('a')).toEqual(['pagerduty:firing:1', 'slack:firing:1']);
    const dedup = channels.sent[0].n.dedup_key;

    // a stops leading (it froze: its own term is not over yet); b is elected with a newer token.
    clock.advance(3 * MIN);
    const tb = await lead(b, doc, 11);
    expect(b.list()[0].groups[0]).toMatchObject({ step: 1, next_at: new Date(Date.parse('2026-12-07T03:05:10Z')).toISOString() });
    clock.advance(2 * MIN); // step 2 is due
    await a.tick(); // the frozen a evaluates once more: its claim is refused, it sends nothing
    await a.idle();
    await b.tick();
    await b.idle();
    expect(channels.of('a')).toEqual(['pagerduty:firing:1', 'slack:firing:1']);
    expect(channels.of('b')).toEqual(['pagerduty:firing:2', 'slack:firing:2']);
    expect(channels.sent.every((s) => s.n.dedup_key === dedup)).toBe(true);
    // No step twice: b's next step is the third, after another wait.
    clock.advance(5 * MIN);
    await b.tick();
    await b.idle();
    expect(channels.of('b').slice(2)).toEqual(['pagerduty:firing:3', 'slack:firing:3']);

    // Changes go to the leader: a follower refuses them with the fencing error.
    ta.end();
    await vi.waitFor(() => expect(() => a.addSilence({ matchers: ['node="n1"'], ends_at: '2026-12-08T00:00:00Z', comment: 'x' }, 'ana')).toThrow(FencedOffError));
    expect(() => a.ack(b.list()[0].fingerprint, 'ana')).toThrow(/does not lead the region/);
    b.ack(b.list()[0].fingerprint, 'ben');
    await b.idle();
    expect(channels.of('b').slice(4)).toEqual(['pagerduty:acknowledged:3', 'slack:acknowledged:3']);
    tb.end();
  });

  it('a send claimed and not settled when the leader died is sent again by the next, marked possible_duplicate, with the same id', async () => {
    const { clock, fleet, doc, channels, a, b } = setup();
    fleet.down('n1');
    channels.hang.add('slack');
    const ta = await lead(a, doc, 20);
    clock.advance(10_000);
    await a.tick();
    await vi.waitFor(() => expect(channels.of('a')).toEqual(['pagerduty:firing:1', 'slack:firing:1']));
    // pagerduty settled; slack is held open when a dies (kill -9: nothing more of a runs).
    await vi.waitFor(() => expect(JSON.parse(doc.text!).outbox.map((e: { channel: string }) => e.channel)).toEqual(['slack']));
    ta.end();
    channels.hang.clear();
    await lead(b, doc, 21);
    await b.idle();
    const again = channels.sent.filter((s) => s.hub === 'b');
    expect(again.map((s) => `${s.channel}:${s.n.step}:${String(s.n.possible_duplicate)}`)).toEqual(['slack:1:true']);
    expect(again[0].n.id).toBe(channels.sent[1].n.id);
    expect(b.listDeliveries({ channel: 'slack' })).toEqual([expect.objectContaining({ outcome: 'delivered', possible_duplicate: true, notification_id: again[0].n.id })]);
    expect(JSON.parse(doc.text!).outbox).toEqual([]);
    // The escalation goes on from b, once.
    clock.advance(5 * MIN);
    await b.tick();
    await b.idle();
    expect(channels.of('b')).toEqual(['slack:firing:1', 'pagerduty:firing:2', 'slack:firing:2']);
  });

  it('a damaged region state does not stop paging: the leader starts from an empty one', async () => {
    const { clock, fleet, doc, channels, a } = setup();
    doc.text = '{"alerts": "not a list"';
    fleet.down('n1');
    await lead(a, doc, 30);
    clock.advance(10_000);
    await a.tick();
    await a.idle();
    expect(channels.of('a')).toEqual(['pagerduty:firing:1', 'slack:firing:1']);
    expect(JSON.parse(doc.text).groups).toHaveLength(1);
  });

  it('entries that parse but cannot be restored (a null alert, a group without a key) are damage too, not a retry forever', async () => {
    const { clock, fleet, doc, channels, a } = setup();
    doc.text = JSON.stringify({ alerts: [null], groups: [{}], silences: [], outbox: [], tickets: {}, timelines: {}, used_nonces: {} });
    fleet.down('n1');
    await lead(a, doc, 31);
    clock.advance(10_000);
    await a.tick();
    await a.idle();
    expect(channels.of('a')).toEqual(['pagerduty:firing:1', 'slack:firing:1']);
  });
  it('a leader back after a spell without one continues its groups: the same dedup_key (one PagerDuty incident), then the resolve', async () => {
    let leader: string | null = null;
    const { clock, fleet, doc, channels, a, b } = setup({ leaderless: () => leader, evaluation: '20ms' });
    fleet.down('n1');
    // No leader for longer than the lease TTL + 10 s: both hubs page PagerDuty alone, with one key.
    const warn = vi.spyOn(logger, 'warn');
    const alone = () => warn.mock.calls.filter((c) => String(c[1]).includes('no leader for longer')).length;
    clock.advance(TTL + HEADLESS_GRACE_MS + 1);
    // Each hub says so as it starts, then evaluates at once (the group opens; group_wait runs).
    await vi.waitFor(() => expect(alone()).toBe(2));
    expect(channels.sent).toEqual([]);
    clock.advance(10_000); // group_wait
    await vi.waitFor(() => expect([channels.of('a'), channels.of('b')]).toEqual([['pagerduty:firing:1'], ['pagerduty:firing:1']]));
    const dedup = channels.sent[0].n.dedup_key;
    expect(channels.sent[1].n.dedup_key).toBe(dedup);

    // a leads again: it continues the group it paged alone, not a new incident.
    leader = 'a';
    const ta = await lead(a, doc, 40);
    await vi.waitFor(() => expect(a.list().map((x) => x.groups.map((g) => g.dedup_key))).toEqual([[dedup]]));
    clock.advance(5 * MIN); // the escalation's next step, from the leader, to every channel
    await vi.waitFor(() => expect(channels.of('a').slice(1)).toEqual(['pagerduty:firing:2', 'slack:firing:2']));
    fleet.up('n1');
    clock.advance(3 * MIN); // keep_firing_for 2m
    await vi.waitFor(() => expect(channels.of('a').slice(3)).toEqual(['pagerduty:resolved:2', 'slack:resolved:2']));
    await a.idle();
    expect(new Set(channels.sent.map((s) => s.n.dedup_key))).toEqual(new Set([dedup]));
    expect(channels.of('b')).toEqual(['pagerduty:firing:1']);
    ta.end();
    warn.mockRestore();
    await a.close();
    await b.close();
  });
  it('the delivery log and the alert history are the region\'s: a follower and the next leader answer what the leader sent and resolved', async () => {
    const logDoc = new MemoryDocument();
    const { clock, fleet, doc, channels, a, b } = setup({ sharedLog: logDoc, evaluation: '20ms' });
    fleet.down('n1');
    const ta = await lead(a, doc, 50);
    clock.advance(10_000); // group_wait
    await vi.waitFor(() => expect(channels.of('a')).toEqual(['pagerduty:firing:1', 'slack:firing:1']));
    await a.idle();
    const sent = a.listDeliveries({}).map((d) => `${d.channel}:${d.outcome}`);
    expect(sent).toEqual(['pagerduty:delivered', 'slack:delivered']);
    // b follows: the same deliveries, though b sent nothing.
    await vi.waitFor(() => expect(b.listDeliveries({}).map((d) => `${d.channel}:${d.outcome}`)).toEqual(sent));
    expect(channels.of('b')).toEqual([]);
    fleet.up('n1');
    clock.advance(3 * MIN); // keep_firing_for 2m: resolved
    await vi.waitFor(() => expect(b.listHistory({}).map((h) => [h.labels.node, h.timeline.map((e) => e.what)])).toEqual([['n1', ['fired', 'notified', 'notified', 'resolved', 'notified', 'notified']]]));
    // a stops leading; b leads and still answers a's deliveries and history, with its own after them.
    ta.end();
    const tb = await lead(b, doc, 51);
    fleet.down('n2');
    await vi.waitFor(() => expect(b.list().some((x) => x.labels.node === 'n2' && x.groups.length > 0)).toBe(true));
    clock.advance(10_000); // group_wait
    await vi.waitFor(() => expect(channels.of('b')).toEqual(['pagerduty:firing:1', 'slack:firing:1']));
    await b.idle();
    expect(b.listDeliveries({}).map((d) => `${d.channel}:${d.status}`)).toEqual(['pagerduty:firing', 'slack:firing', 'pagerduty:resolved', 'slack:resolved', 'pagerduty:firing', 'slack:firing']);
    expect(b.listHistory({}).map((h) => h.labels.node)).toEqual(['n1']);
    // The deposed a writes nothing over it: its copy of the log is refused by the fence.
    expect(logDoc.fence).toBe(51);
    tb.end();
    await a.close();
    await b.close();
  });
});
