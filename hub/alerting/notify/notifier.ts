// The notifier contract (as hub/audit/ship/sink.ts for audit shipping): send() answers
// delivered, retry (network, timeout, 429, 5xx; with the receiver's Retry-After) or rejected
// (the receiver refused for good: retrying would not help). Throwing means retry. Retrying,
// rate limits, timeouts and the delivery log are written once, in deliver.ts, around every channel.
import type { NotificationStatus } from '../dispatch/index.js';

export interface NotificationAlert {
  fingerprint: string;
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  summary: string;
  starts_at?: string;
  ends_at?: string;
}

/** One notification as every channel gets it (snake_case: webhook receivers see it as is). */
export interface Notification {
  /** Unique per notification and channel: the webhook's Idempotency-Key. */
  id: string;
  status: NotificationStatus;
  group_key: string;
  /** Stable for the group's whole episode (trigger, acknowledge, resolve). */
  dedup_key: string;
  severity: string;
  region: string;
  title: string;
  text: string;
  summary: string;
  /** Step of the escalation (1: first notification). */
  step: number;
  policy?: string;
  group_labels: Record<string, string>;
  alerts: NotificationAlert[];
  /** A signed single-use link that acknowledges the group. */
  ack_url?: string;
  acked_by?: string;
  /** E-mail: the contact's address, instead of the channel's endpoint. */
  to?: string;
  /** The user a user or schedule step notifies. */
  recipient?: string;
  /** A redelivery after a restart that may have sent it already. */
  possible_duplicate?: boolean;
}

export type SendResult =
  | { outcome: 'delivered'; detail?: string }
  | { outcome: 'retry'; reason: string; retryAfterMs?: number }
  | { outcome: 'rejected'; reason: string };

export interface Notifier {
  readonly name: string;
  readonly type: string;
  /** `signal` aborts at the channel's timeout. */
  send(n: Notification, signal: AbortSignal): Promise<SendResult>;
  close?(): Promise<void>;
}
