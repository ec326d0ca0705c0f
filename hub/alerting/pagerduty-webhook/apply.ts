// What a verified PagerDuty v3 event does here. incident.acknowledged acknowledges the group
// whose dedup_key is the incident's key (its escalation stops; the other channels hear it, as when
// an operator acknowledges); incident.resolved resolves its alerts (resolve notifications go out).
// Whoever acted in PagerDuty is the acknowledger / resolver in the events and the alert history.
// A delivery PagerDuty sends again (same event id) acts once. Everything else, an unknown incident
// and one already acknowledged or resolved here answer 2xx without effect: PagerDuty retries
// errors, and this hub's own acknowledge/resolve comes back as such a webhook.
import type { PagerDutyEvent } from './event.js';

export type PagerDutyOutcome = 'acknowledged' | 'resolved' | 'already' | 'unknown_incident' | 'ignored' | 'duplicate' | 'stale';

export interface PagerDutyTarget {
  /** The groups of that dedup_key, with whether each is acknowledged. */
  groups(dedupKey: string): { acked: boolean; firing: number }[];
  ack(dedupKey: string, by: string): void;
  resolve(dedupKey: string, by: string): void;
  /** Whether the event id was acted on before. */
  seen(eventId: string): boolean;
  /** Remembers an event id acted on (durably, with the alerting state); only once the action took: a failed one is retried by PagerDuty. */
  remember(eventId: string): void;
  now(): number;
}

/** How long a PagerDuty event id is remembered (PagerDuty gives up redelivering well before). */
export const PAGERDUTY_EVENT_MEMORY_MS = 24 * 3_600_000;

export function applyPagerDutyEvent(ev: PagerDutyEvent, target: PagerDutyTarget): PagerDutyOutcome {
  if (ev.type !== 'incident.acknowledged' && ev.type !== 'incident.resolved') return 'ignored';
  // v3 signatures carry no time, and event ids are remembered this long: an older delivery, or
  // one without its time, could be a recorded one replayed. (PagerDuty stops retrying within hours.)
  if (ev.occurred_at === undefined || target.now() - ev.occurred_at > PAGERDUTY_EVENT_MEMORY_MS) return 'stale';
  if (!ev.incident_key) return 'unknown_incident';
  const groups = target.groups(ev.incident_key);
  if (!groups.length) return 'unknown_incident';
  if (target.seen(ev.id)) return 'duplicate';
  const by = `pagerduty: ${ev.agent}`;
  if (ev.type === 'incident.acknowledged') {
    if (groups.every((g) => g.acked)) return 'already';
    target.ack(ev.incident_key, by);
    target.remember(ev.id);
    return 'acknowledged';
  }
  if (!groups.some((g) => g.firing > 0)) return 'already';
  target.resolve(ev.incident_key, by);
  target.remember(ev.id);
  return 'resolved';
}
