// The parts of a PagerDuty v3 webhook payload the hub acts on (developer docs, webhooks
// "Overview"): { event: { id, event_type, agent: { summary, ... }, data: { type: "incident",
// incident_key, ... } } }. An incident opened through the Events API v2 carries the event's
// dedup_key as its incident_key, which is the alert group's dedup_key here.
import { BadRequestError } from '../../../shared/errors/index.js';

export interface PagerDutyEvent {
  /** The event's id: a delivery PagerDuty sends again carries the same one. */
  id: string;
  type: string;
  /** The incident's de-duplication key (the group's dedup_key); absent on non-incident events. */
  incident_key?: string;
  /** Who acted (the agent's summary, a user's name or an integration), for the audit and history. */
  agent: string;
  /** PagerDuty's incident id and number, for the record. */
  incident?: string;
  /** When it happened (event.occurred_at, ms), inside the signed body: a replay of an old delivery shows it. */
  occurred_at?: number;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 && v.length <= 1024 ? v : undefined);

/** Parses the raw body; a malformed one is a BadRequestError (400: PagerDuty does not send it again). */
export function parsePagerDutyEvent(raw: Buffer): PagerDutyEvent {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new BadRequestError('the PagerDuty webhook body is not JSON');
  }
  const event = (body as { event?: unknown } | null)?.event as Record<string, unknown> | undefined;
  if (!event || typeof event !== 'object') throw new BadRequestError('the PagerDuty webhook body has no "event" object (a v3 webhook is expected)');
  const id = str(event.id);
  const type = str(event.event_type);
  if (!id || !type) throw new BadRequestError('the PagerDuty webhook event needs "id" and "event_type"');
  const data = (event.data && typeof event.data === 'object' ? event.data : {}) as Record<string, unknown>;
  const agent = (event.agent && typeof event.agent === 'object' ? event.agent : {}) as Record<string, unknown>;
  const incidentKey = data.type === 'incident' ? str(data.incident_key) : undefined;
  const incident = data.type === 'incident' ? [str(data.id), typeof data.number === 'number' ? `#${data.number}` : undefined].filter(Boolean).join(' ') : '';
  const occurred = typeof event.occurred_at === 'string' ? Date.parse(event.occurred_at) : Number.NaN;
  return {
    id,
    type,
    ...(Number.isFinite(occurred) ? { occurred_at: occurred } : {}),
    ...(incidentKey ? { incident_key: incidentKey } : {}),
    agent: str(agent.summary) ?? str(agent.email) ?? str(agent.id) ?? 'unknown',
    ...(incident ? { incident } : {}),
  };
}
