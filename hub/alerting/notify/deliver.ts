// The one delivery stage around every channel: per-channel rate limit (sends per minute), a
// deadline per attempt, bounded retries with exponential backoff and full jitter (a 429's
// Retry-After wins, capped at max_backoff), and a delivery-log line per attempt (the channel's
// secrets redacted, should a receiver echo them). Never throws:
// the outcome is in the log, and the hub keeps serving whatever a receiver does. Each attempt and
// each settled notification is counted here (delivery-stats.ts: sfleet_notification*).
//
// Spans: one `hub.notify` per attempt, a child of the alert's cause (the `hub.alert.fire` span of
// the evaluation that fired it, itself a child of the apply that brought the state it saw; see
// alerting.ts) and linked to every other cause of the group. A child, not only a link, even for a
// step sent long after the firing: the trace keeps the cause's sampling decision (a link carries
// none, and a new root at 1% would lose 99 of every 100 later steps), and the one trace then
// shows the alert's whole paging story.
import type { Clock } from '../../../shared/clock/index.js';
import { endSpan, SpanKind, type Tracing } from '../../../shared/tracing/index.js';
import type { ChannelConfig } from '../config.js';
import type { DeliveryLog } from './delivery-log.js';
import { DeliveryStats } from './delivery-stats.js';
import type { Notification, Notifier, SendResult } from './notifier.js';

export interface DeliverDeps {
  log: DeliveryLog;
  clock: Clock;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** One `hub.notify` span per attempt: channel, type, attempt, outcome, whether it is retried. */
  tracing?: Tracing;
  /** Counts attempts and settled notifications per channel (default: a fresh one). */
  stats?: DeliveryStats;
}

export interface DeliverOptions {
  /** W3C traceparents of what caused the notification (the alerts' fire spans): the first is the span's parent, all are its links. */
  causes?: readonly string[];
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export class Deliverer {
  private readonly sent = new Map<string, number[]>();
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  readonly stats: DeliveryStats;

  constructor(
    private readonly channels: ReadonlyMap<string, { config: ChannelConfig; notifier: Notifier }>,
    private readonly deps: DeliverDeps,
  ) {
    this.sleep = deps.sleep ?? realSleep;
    this.random = deps.random ?? Math.random;
    this.stats = deps.stats ?? new DeliveryStats(channels.keys());
  }

  has(channel: string): boolean {
    return this.channels.has(channel);
  }

  /** Delivers with retries; resolves with the final outcome (delivered, rejected or failed). */
  async deliver(channel: string, n: Notification, opts: DeliverOptions = {}): Promise<'delivered' | 'rejected' | 'failed'> {
    const entry = this.channels.get(channel);
    const base = { channel, notification_id: n.id, group_key: n.group_key, dedup_key: n.dedup_key, status: n.status, ...(n.possible_duplicate ? { possible_duplicate: true } : {}), ...(n.recipient ? { recipient: n.recipient } : {}) };
    if (!entry) {
      // Not counted: a name outside the config would be an unbounded label (the delivery log has it).
      this.deps.log.add({ ...base, type: 'unknown', at: this.iso(), attempt: 0, outcome: 'rejected', reason: `no channel named "${channel}"`, duration_ms: 0 });
      return 'rejected';
    }
    const { config, notifier } = entry;
    const first = this.deps.clock.now();
    const causes = opts.causes ?? [];
    for (let attempt = 1; ; attempt++) {
      await this.takeToken(channel, config.rate_limit);
      const started = this.deps.clock.now();
      const span = this.deps.tracing?.enabled
        ? this.deps.tracing.startSpan('hub.notify', {
            kind: SpanKind.CLIENT,
            parent: causes[0],
            links: this.deps.tracing.links(causes),
            attributes: { 'sfleet.channel': channel, 'sfleet.channel_type': config.type, 'sfleet.attempt': attempt, 'sfleet.notification_id': n.id, 'sfleet.status': n.status, 'sfleet.step': n.step, 'sfleet.group_key': n.group_key },
          })
        : undefined;
      let result: SendResult;
      const signal = AbortSignal.timeout(config.timeout);
      try {
        result = await Promise.race([notifier.send(n, signal), aborted(signal)]);
      } catch (err) {
        result = { outcome: 'retry', reason: safeMessage(err) };
      }
      const last = attempt > config.retries;
      const outcome = result.outcome === 'retry' ? (last ? 'failed' : 'retry') : result.outcome;
      const reason = redact(result.outcome === 'delivered' ? result.detail : result.reason, config);
      this.deps.log.add({ ...base, type: config.type, at: this.iso(), attempt, outcome, ...(reason ? { reason } : {}), duration_ms: this.deps.clock.now() - started });
      if (span) {
        span.setAttributes({ 'sfleet.outcome': outcome, 'sfleet.retry': outcome === 'retry' });
        endSpan(span, outcome === 'delivered' ? undefined : (reason ?? outcome));
      }
      this.stats.attempt(channel, outcome);
      if (outcome !== 'retry') {
        this.stats.settled(channel, outcome, (this.deps.clock.now() - first) / 1000);
        return outcome;
      }
      const backoff = Math.min(config.max_backoff, config.backoff * 2 ** (attempt - 1));
      const wait = result.outcome === 'retry' && result.retryAfterMs !== undefined ? Math.min(config.max_backoff, result.retryAfterMs) : backoff / 2 + this.random() * (backoff / 2);
      await this.sleep(wait);
    }
  }

  /** A notification not sent (a directory user without the address it needs): one rejected line, counted. */
  skip(channel: string, n: Notification, reason: string): 'rejected' {
    const type = this.channels.get(channel)?.config.type ?? 'unknown';
    this.deps.log.add({ channel, notification_id: n.id, group_key: n.group_key, dedup_key: n.dedup_key, status: n.status, ...(n.recipient ? { recipient: n.recipient } : {}), type, at: this.iso(), attempt: 0, outcome: 'rejected', reason, duration_ms: 0 });
    if (this.channels.has(channel)) this.stats.settled(channel, 'rejected', 0);
    return 'rejected';
  }

  /** Waits for a free slot of the channel's per-minute budget. */
  private async takeToken(channel: string, perMinute: number): Promise<void> {
    let times = this.sent.get(channel);
    if (!times) this.sent.set(channel, (times = []));
    for (;;) {
      const now = this.deps.clock.now();
      while (times.length && now - times[0] >= 60_000) times.shift();
      if (times.length < perMinute) {
        times.push(now);
        return;
      }
      await this.sleep(60_000 - (now - times[0]));
    }
  }

  private iso(): string {
    return new Date(this.deps.clock.now()).toISOString();
  }
}

function aborted(signal: AbortSignal): Promise<SendResult> {
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve({ outcome: 'retry', reason: 'timed out' }), { once: true }));
}

/** A receiver may echo what it was sent: the channel's secrets never reach the delivery log. */
function redact(reason: string | undefined, config: ChannelConfig): string | undefined {
  if (!reason) return reason;
  const c = config as Partial<Record<'password' | 'token' | 'integration_key' | 'secret' | 'webhook_secret' | 'webhook', string>> & { headers?: Record<string, string>; smtp?: { password?: string } };
  const secrets = [c.password, c.token, c.integration_key, c.secret, c.webhook_secret, c.smtp?.password, ...Object.values(c.headers ?? {}).flatMap((v) => [v, v.split(' ').at(-1)]), ...(c.webhook ? pathTokens(c.webhook) : [])].filter((v): v is string => !!v && v.length >= 4).sort((a, b) => b.length - a.length);
  return secrets.reduce((text, secret) => text.split(secret).join('<redacted>'), reason);
}

/** A Slack webhook's path is its secret: each segment long enough to be a token. */
function pathTokens(url: string): string[] {
  return new URL(url).pathname.split('/').filter((p) => p.length >= 8);
}

function safeMessage(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0].replace(/https?:\/\/\S+/g, '<url>').slice(0, 200);
}
