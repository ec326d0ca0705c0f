// `sfleet export --user NAME` (GDPR subject access): everything this hub holds about one person,
// as one JSON document. Sessions are kept only as hashes of their tokens, so a person's sessions
// appear as the logins the audit log recorded; acks likewise come from the audit log, which
// records who acked what.
import type { HistoryJob } from '../../shared/history/index.js';
import type { AuditRecord } from '../audit/index.js';
import type { AuditQuery } from '../audit/index.js';
import type { TokenView } from '../policy/index.js';
import type { Pseudonymizer } from './pseudonym.js';

/** The most of each kind one export holds; `truncated` says when a kind had more. */
export const PERSON_EXPORT_LIMIT = 100_000;

export interface PersonSources {
  history?: { jobs(filter: { user: string }, rows: null, limit: number): Promise<HistoryJob[]> };
  audit: { query(q: AuditQuery): { items: AuditRecord[]; next_cursor: string | null } };
  tokens?: { list(): TokenView[] };
  alerting?: { list(): { fingerprint: string; labels: Record<string, string>; resolved_by?: string; ends_at?: string }[] };
}

export interface PersonExport {
  subject: string;
  pseudonymized: boolean;
  generated_at: string;
  hub_id: string;
  history: { kept: boolean; jobs: HistoryJob[] };
  audit_records: AuditRecord[];
  logins: { at: string; outcome: string; auth_method: string | null; source_ip: string | null }[];
  tokens: TokenView[];
  alert_acks: { at: string; resource: string }[];
  alerts_resolved: { fingerprint: string; labels: Record<string, string>; at: string | null }[];
  truncated: string[];
}

function auditOf(audit: PersonSources['audit'], user: string): { items: AuditRecord[]; truncated: boolean } {
  const items: AuditRecord[] = [];
  let cursor: number | undefined;
  for (;;) {
    const page = audit.query({ user, limit: 5000, ...(cursor !== undefined ? { cursor } : {}) });
    items.push(...page.items);
    if (items.length >= PERSON_EXPORT_LIMIT) return { items: items.slice(0, PERSON_EXPORT_LIMIT), truncated: true };
    if (page.next_cursor === null) return { items, truncated: false };
    cursor = Number(page.next_cursor);
  }
}

export async function exportPerson(sources: PersonSources, subject: string, opts: { hubId: string; now: number; pseudonymizer?: Pseudonymizer }): Promise<PersonExport> {
  const truncated: string[] = [];
  const jobs = sources.history ? await sources.history.jobs({ user: subject }, null, PERSON_EXPORT_LIMIT + 1) : [];
  if (jobs.length > PERSON_EXPORT_LIMIT) truncated.push('history');
  const audit = auditOf(sources.audit, subject);
  if (audit.truncated) truncated.push('audit_records');
  const records = audit.items;
  const out: PersonExport = {
    subject,
    pseudonymized: !!opts.pseudonymizer,
    generated_at: new Date(opts.now).toISOString(),
    hub_id: opts.hubId,
    history: { kept: !!sources.history, jobs: jobs.slice(0, PERSON_EXPORT_LIMIT) },
    audit_records: records,
    logins: records.filter((r) => r.action.startsWith('auth:login')).map((r) => ({ at: r.timestamp, outcome: r.outcome, auth_method: r.auth_method, source_ip: r.source_ip })),
    tokens: (sources.tokens?.list() ?? []).filter((t) => t.name === subject || t.created_by === subject),
    alert_acks: records.filter((r) => r.action === 'alerts:ack' && r.outcome === 'success').map((r) => ({ at: r.timestamp, resource: r.resource })),
    alerts_resolved: (sources.alerting?.list() ?? []).filter((a) => a.resolved_by === subject).map((a) => ({ fingerprint: a.fingerprint, labels: a.labels, at: a.ends_at ?? null })),
    truncated,
  };
  if (!opts.pseudonymizer) return out;
  // The flag and the generation facts stay as they are; every name, the subject's first, is replaced.
  const { pseudonymized, generated_at, hub_id, ...held } = out;
  return { ...opts.pseudonymizer.apply(held, subject), pseudonymized, generated_at, hub_id };
}
