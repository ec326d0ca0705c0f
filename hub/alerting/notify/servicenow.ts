// ServiceNow incidents through the Table API: the first firing notification of an episode
// creates one (POST /api/now/table/<incident_table>, correlation_id = the dedup_key) and its
// sys_id is kept (tickets.ts); repeats add work_notes, the acknowledgement sets acknowledged_state
// with work_notes, the resolve sets state, close_code and close_notes (PATCH .../<sys_id>). A
// redelivery after a failover (possible_duplicate) that finds no sys_id asks for the open,
// unresolved incident by correlation_id before creating one, so a handover never opens a second
// incident; an acknowledgement that found its incident that way adds only work_notes, so a late
// redelivery never moves a resolved incident back to In Progress.
import type { ChannelConfig } from '../config.js';
import { authorization, jsonOf, request, type HttpAnswer, type HttpOptions } from './http.js';
import type { Notification, Notifier, SendResult } from './notifier.js';
import type { TicketRefs } from './tickets.js';

type ServiceNowConfig = Extract<ChannelConfig, { type: 'servicenow' }>;
/** Table API answers are JSON read whole (sys_id, number): more than the 2 KiB kept for a page. */
const TICKET_ANSWER = 256 * 1024;

export function servicenowNotifier(c: ServiceNowConfig, tickets: TicketRefs, http: HttpOptions = {}): Notifier {
  const table = `${(c.url ?? `https://${c.instance}`).replace(/\/$/, '')}/api/now/table/${c.incident_table}`;
  const headers = { accept: 'application/json', 'content-type': 'application/json', authorization: authorization(c) };
  const call = (method: string, url: string, body: unknown, signal: AbortSignal) => request(method, url, body === undefined ? undefined : JSON.stringify(body), headers, signal, { maxAnswer: TICKET_ANSWER, ...http });

  async function find(n: Notification, signal: AbortSignal): Promise<string | undefined | HttpAnswer> {
    // Resolved incidents stay active until closed: leave them out by state too.
    const q = new URLSearchParams({ sysparm_query: `correlation_id=${n.dedup_key}^active=true^state!=${c.resolved_state}`, sysparm_fields: 'sys_id,number', sysparm_limit: '1' });
    const res = await call('GET', `${table}?${q}`, undefined, signal);
    if (res.outcome !== 'delivered') return res;
    const found = (jsonOf(res)?.result as { sys_id?: string }[] | undefined)?.[0]?.sys_id;
    return typeof found === 'string' ? found : undefined;
  }

  return {
    name: c.name,
    type: c.type,
    async send(n, signal): Promise<SendResult> {
      let sysId = tickets.get(c.name, n.dedup_key);
      let lookedUp = false;
      if (!sysId && n.possible_duplicate) {
        const found = await find(n, signal);
        if (typeof found === 'object') return found;
        if (found) tickets.set(c.name, n.dedup_key, (sysId = found));
        lookedUp = !!found;
      }
      if (!sysId) {
        if (n.status !== 'firing') return { outcome: 'delivered', detail: 'no open incident to update' };
        const res = await call('POST', table, createBody(c, n), signal);
        if (res.outcome !== 'delivered') return res;
        const result = jsonOf(res)?.result as { sys_id?: unknown; number?: unknown } | undefined;
        if (typeof result?.sys_id !== 'string') return { outcome: 'rejected', reason: `HTTP ${res.status ?? ''}: the answer carries no result.sys_id` };
        tickets.set(c.name, n.dedup_key, result.sys_id);
        return { outcome: 'delivered', detail: `created ${typeof result.number === 'string' ? result.number : result.sys_id}` };
      }
      const res = await call('PATCH', `${table}/${encodeURIComponent(sysId)}`, updateBody(c, n, lookedUp), signal);
      if (res.outcome === 'delivered' && n.status === 'resolved') tickets.delete(c.name, n.dedup_key);
      return res.outcome === 'delivered' ? { outcome: 'delivered', detail: `${n.status === 'resolved' ? 'resolved' : 'updated'} ${sysId}` } : res;
    },
  };
}

function createBody(c: ServiceNowConfig, n: Notification): Record<string, string> {
  return {
    short_description: n.title.slice(0, 160),
    description: describe(n),
    urgency: c.urgency[n.severity] ?? '3',
    impact: c.impact[n.severity] ?? '3',
    correlation_id: n.dedup_key,
    correlation_display: 'sfleet',
    ...(c.assignment_group ? { assignment_group: c.assignment_group } : {}),
    ...(c.caller_id ? { caller_id: c.caller_id } : {}),
    ...(c.category ? { category: c.category } : {}),
  };
}

/** `lookedUp`: the incident was found by correlation_id after a failover, not known from this episode's own sends. */
function updateBody(c: ServiceNowConfig, n: Notification, lookedUp = false): Record<string, string> {
  if (n.status === 'resolved') return { state: c.resolved_state, close_code: c.close_code, close_notes: `Resolved in sfleet: ${n.text}`, work_notes: `Resolved: ${n.text}` };
  if (n.status === 'acknowledged') return { ...(lookedUp ? {} : { state: c.acknowledged_state }), work_notes: `Acknowledged in sfleet${n.acked_by ? ` by ${n.acked_by}` : ''}.` };
  return { work_notes: `Still firing, not acknowledged (step ${n.step}): ${n.text}${n.ack_url ? `\nAcknowledge: ${n.ack_url}` : ''}` };
}

function describe(n: Notification): string {
  const lines = n.alerts.slice(0, 50).map((a) => `- ${a.summary} [${Object.entries(a.labels).map(([k, v]) => `${k}=${v}`).join(' ')}]`);
  return `${n.text}\n\n${lines.join('\n')}${n.ack_url ? `\n\nAcknowledge: ${n.ack_url}` : ''}\n\nsfleet dedup_key: ${n.dedup_key}`;
}
