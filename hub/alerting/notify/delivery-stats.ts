// Notification figures counted where a channel's send settles (deliver.ts), read by the hub's
// metrics at scrape time (hub/metrics/alerting-series.ts). Labels are bounded: the channel's name
// from the config and outcomes from a fixed set. Every configured channel starts at zero, so a
// rate is there from the first scrape.
import { LabelledCounts, LatencyHistogram } from '../../../shared/histogram/index.js';

/** A notification's final outcome (after retries). */
export const NOTIFICATION_OUTCOMES = ['delivered', 'rejected', 'failed'] as const;
/** One attempt's outcome: `retry` means another attempt follows. */
export const ATTEMPT_OUTCOMES = ['delivered', 'retry', 'rejected', 'failed'] as const;

export type NotificationOutcome = (typeof NOTIFICATION_OUTCOMES)[number];
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

export class DeliveryStats {
  /** channel, outcome -> notifications settled */
  readonly notifications = new LabelledCounts(() => ({ n: 0 }));
  /** channel, outcome -> attempts */
  readonly attempts = new LabelledCounts(() => ({ n: 0 }));
  /** channel -> seconds from the first attempt to the final outcome (retries and backoff included) */
  readonly durations = new LabelledCounts(() => new LatencyHistogram());

  constructor(channels: Iterable<string> = []) {
    for (const channel of channels) {
      for (const outcome of NOTIFICATION_OUTCOMES) this.notifications.get({ channel, outcome });
      for (const outcome of ATTEMPT_OUTCOMES) this.attempts.get({ channel, outcome });
      this.durations.get({ channel });
    }
  }

  attempt(channel: string, outcome: AttemptOutcome): void {
    this.attempts.get({ channel, outcome }).n++;
  }

  settled(channel: string, outcome: NotificationOutcome, seconds: number): void {
    this.notifications.get({ channel, outcome }).n++;
    this.durations.get({ channel }).observe(seconds);
  }
}
