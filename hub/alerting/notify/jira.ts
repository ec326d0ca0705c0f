// Jira issues through REST API v2: the first firing notification of an episode creates one
// (POST /rest/api/2/issue, labelled sfleet and the dedup_key) and its key is kept (tickets.ts);
// repeats and the acknowledgement comment on it; the resolve looks up the issue's transitions
// (GET .../transitions) and applies the one named resolve_transition: transition ids differ
// between workflows, so none is ever assumed. A redelivery after a failover
// (possible_duplicate) that finds no key searches for the episode's label before creating
// (Cloud's /search/jql, else Data Center's /search).
import type { ChannelConfig } from '../config.js';
import { authorization, jsonOf, request, type HttpAnswer, type HttpOptions } from './http.js';
import type { Notification, Notifier, SendResult } from './notifier.js';
import type { TicketRefs } from './tickets.js';

type JiraConfig = Extract<ChannelConfig, { type: 'jira' }>;
/** Search and transition answers are JSON read whole: more than the 2 KiB kept for a page. */
const TICKET_ANSWER = 256 * 1024;

export function jiraNotifier(c: JiraConfig, tickets: TicketRefs, http: HttpOptions = {}): Notifier {
  const api = `${c.url.replace(/\/$/, '')}/rest/api/2`;
  const headers = { accept: 'application/json', 'content-type': 'application/json', authorization: authorization(c) };
  const call = (method: string, path: string, body: unknown, signal: AbortSignal) => request(method, `${api}${path}`, body === undefined ? undefined : JSON.stringify(body), headers, signal, { maxAnswer: TICKET_ANSWER, ...http });
  const comment = (key: string, body: string, signal: AbortSignal) => call('POST', `/issue/${encodeURIComponent(key)}/comment`, { body }, signal);

  async function find(n: Notification, signal: AbortSignal): Promise<string | undefined | HttpAnswer> {
    const q = new URLSearchParams({ jql: `project = "${c.project}" AND labels = "${n.dedup_key}" AND statusCategory != Done`, fields: 'key', maxResults: '1' });
    let res = await call('GET', `/search/jql?${q}`, undefined, signal);
    // Jira Data Center (and Server) have no /search/jql (Cloud's); their search is /search.
    if (res.outcome === 'rejected' && res.status === 404) res = await call('GET', `/search?${q}`, undefined, signal);
    if (res.outcome !== 'delivered') return res;
    const key = (jsonOf(res)?.issues as { key?: string }[] | undefined)?.[0]?.key;
    return typeof key === 'string' ? key : undefined;
  }

  async function transition(key: string, n: Notification, signal: AbortSignal): Promise<SendResult> {
    const listed = await call('GET', `/issue/${encodeURIComponent(key)}/transitions`, undefined, signal);
    if (listed.outcome !== 'delivered') return listed;
    const all = (jsonOf(listed)?.transitions as { id?: string; name?: string }[] | undefined) ?? [];
    const wanted = all.find((t) => t.name?.toLowerCase() === c.resolve_transition.toLowerCase());
    if (!wanted?.id) return { outcome: 'rejected', reason: `${key} offers no transition named "${c.resolve_transition}"; it offers: ${all.map((t) => t.name).join(', ') || 'none'}` };
    const done = await call('POST', `/issue/${encodeURIComponent(key)}/transitions`, { transition: { id: wanted.id } }, signal);
    if (done.outcome !== 'delivered') return done;
    tickets.delete(c.name, n.dedup_key);
    // The transition is what counts; a comment that fails after it is not worth a retry.
    const noted = await comment(key, `Resolved in sfleet: ${n.text}`, signal);
    return { outcome: 'delivered', detail: `${key}: ${wanted.name}${noted.outcome === 'delivered' ? '' : ' (comment failed)'}` };
  }

  return {
    name: c.name,
    type: c.type,
    async send(n, signal): Promise<SendResult> {
      let key = tickets.get(c.name, n.dedup_key);
      if (!key && n.possible_duplicate) {
        const found = await find(n, signal);
        if (typeof found === 'object') return found;
        if (found) tickets.set(c.name, n.dedup_key, (key = found));
      }
      if (!key) {
        if (n.status !== 'firing') return { outcome: 'delivered', detail: 'no open issue to update' };
        const res = await call('POST', '/issue', { fields: createFields(c, n) }, signal);
        if (res.outcome !== 'delivered') return res;
        const created = jsonOf(res)?.key;
        if (typeof created !== 'string') return { outcome: 'rejected', reason: `HTTP ${res.status ?? ''}: the answer carries no issue key` };
        tickets.set(c.name, n.dedup_key, created);
        return { outcome: 'delivered', detail: `created ${created}` };
      }
      if (n.status === 'resolved') return transition(key, n, signal);
      const text = n.status === 'acknowledged' ? `Acknowledged in sfleet${n.acked_by ? ` by ${n.acked_by}` : ''}.` : `Still firing, not acknowledged (step ${n.step}): ${n.text}${n.ack_url ? `\nAcknowledge: ${n.ack_url}` : ''}`;
      const res = await comment(key, text, signal);
      return res.outcome === 'delivered' ? { outcome: 'delivered', detail: `commented on ${key}` } : res;
    },
  };
}

function createFields(c: JiraConfig, n: Notification): Record<string, unknown> {
  const lines = n.alerts.slice(0, 50).map((a) => `* ${a.summary}`);
  return {
    project: { key: c.project },
    issuetype: { name: c.issue_type },
    // Jira refuses a summary with line breaks or over 255 characters.
    summary: n.title.replace(/[\r\n]+/g, ' ').slice(0, 255),
    description: `${n.text}\n\n${lines.join('\n')}${n.ack_url ? `\n\nAcknowledge: ${n.ack_url}` : ''}`,
    labels: ['sfleet', n.dedup_key, ...c.labels],
  };
}
