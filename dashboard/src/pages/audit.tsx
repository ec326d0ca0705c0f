// The audit log for auditors: filters (user, action with a trailing *, outcome, resource, since,
// until) and the page cursor live in the URL, so a search can be shared; oldest first, as the log
// is kept; "Next page" follows the hub's cursor, "First page" drops it.
import { useEffect, useState } from 'preact/hooks';
import { api, problemText, type AuditPage, type AuditQuery } from '../api/client';
import { formatTime, usePrefs } from '../prefs';
import { navigate, useLocation, withQuery } from '../router';

const FIELDS = ['user', 'action', 'resource', 'since', 'until'] as const;
/** Records a page unless the URL says otherwise (limit=). */
const PAGE = 50;

export function Audit() {
  const { query } = useLocation();
  const { tz } = usePrefs();
  const [page, setPage] = useState<AuditPage>();
  const [error, setError] = useState<string>();
  const [draft, setDraft] = useState<Record<string, string>>({});
  const limit = Number(query.get('limit'));
  const q: AuditQuery = { limit: Number.isInteger(limit) && limit >= 1 && limit <= 1000 ? limit : PAGE };
  for (const f of FIELDS) if (query.get(f)) q[f] = query.get(f)!;
  if (query.get('outcome')) q.outcome = query.get('outcome') as AuditQuery['outcome'];
  if (query.get('cursor')) q.cursor = query.get('cursor')!;
  const key = JSON.stringify(q);

  useEffect(() => {
    setDraft(Object.fromEntries([...FIELDS, 'outcome'].map((f) => [f, query.get(f) ?? ''])));
    void api.GET('/api/v1/audit', { params: { query: q } }).then((r) => (r.data ? (setPage(r.data), setError(undefined)) : (setPage(undefined), setError(problemText(r.error, r.response.status)))));
  }, [key]);

  const search = (e: Event): void => {
    e.preventDefault();
    navigate(`/audit${withQuery(new URLSearchParams(), { ...draft, limit: query.get('limit') ?? undefined })}`);
  };

  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      <form class="audit-search" onSubmit={search} role="search" aria-label="Search the audit log">
        {FIELDS.map((f) => (
          <label key={f}>
            {f === 'since' ? 'Since (ISO time or 2h)' : f === 'until' ? 'Until' : f === 'action' ? 'Action (jobs:*)' : f[0].toUpperCase() + f.slice(1)}
            <input id={`audit-${f}`} value={draft[f] ?? ''} onInput={(e) => setDraft({ ...draft, [f]: (e.target as HTMLInputElement).value })} />
          </label>
        ))}
        <label>
          Outcome
          <select id="audit-outcome" value={draft.outcome ?? ''} onChange={(e) => setDraft({ ...draft, outcome: (e.target as HTMLSelectElement).value })}>
            <option value="">all</option>
            {['success', 'denied', 'failed', 'error'].map((o) => (
              <option key={o} value={o}>
                {o}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Search</button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {page && page.items.length === 0 && <p class="empty">No records match.</p>}
      {page && page.items.length > 0 && (
        <div class="scroll-x">
          <table class="audit-table">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">User</th>
                <th scope="col">Action</th>
                <th scope="col">Resource</th>
                <th scope="col">Outcome</th>
                <th scope="col">Source</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((r) => (
                <tr key={r.seq} data-seq={r.seq}>
                  <td class="nowrap">{formatTime(r.timestamp, tz)}</td>
                  <td>{r.user ?? '—'}</td>
                  <td class="mono">{r.action}</td>
                  <td class="mono">{r.resource}</td>
                  <td>
                    <span class={`chip ${r.outcome === 'success' ? 's-ok' : r.outcome === 'denied' ? 's-wait' : 's-bad'}`}>{r.outcome}</span>
                    {r.reason && <span class="muted"> {r.reason}</span>}
                  </td>
                  <td class="mono">{r.source_ip ?? r.transport}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div class="buttons">
        {q.cursor && (
          <button type="button" onClick={() => navigate(`/audit${withQuery(query, { cursor: undefined })}`)}>
            First page
          </button>
        )}
        {page?.next_cursor && (
          <button type="button" onClick={() => navigate(`/audit${withQuery(query, { cursor: page.next_cursor ?? undefined })}`)}>
            Next page
          </button>
        )}
      </div>
    </section>
  );
}
