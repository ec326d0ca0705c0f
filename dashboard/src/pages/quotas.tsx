// Quotas: per tenant, usage against every limit (tenant, account and user) as bars, the schedule in
// force and when it switches next (GET /api/v1/quotas; a tenant's member sees its own tenant only),
// and under each bar its history over a range chosen in the URL (GET /api/v1/quotas/history).
// Usage moves with jobs: the page lists again every 15 s.
import { useEffect, useState } from 'preact/hooks';
import { api, problemText, type QuotaHistory, type TenantQuotas } from '../api/client';
import { Bar } from '../components/bars';
import { HistoryChart } from '../components/history-chart';
import { formatTime, usePrefs } from '../prefs';
import { navigate, useLocation, withQuery } from '../router';

const REFRESH_MS = 15_000;
const RANGES: Record<string, number> = { '6h': 6 * 3_600_000, '24h': 24 * 3_600_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 };
const seriesKey = (tenant: string, scope: string, subject: string, limit: string): string => `${tenant}\u0000${scope}\u0000${subject}\u0000${limit}`;
const LABEL: Record<string, string> = { max_jobs: 'Jobs', max_nodes: 'Nodes', max_cpus: 'CPUs', max_gpus: 'GPUs', max_memory: 'Memory (MB)' };

export function Quotas() {
  const { tz } = usePrefs();
  const { query } = useLocation();
  const range = RANGES[query.get('range') ?? ''] ? query.get('range')! : '24h';
  const [items, setItems] = useState<TenantQuotas[]>();
  const [history, setHistory] = useState<{ series: Map<string, QuotaHistory['items'][number]['points']>; from: number; to: number }>();
  const [error, setError] = useState<string>();

  useEffect(() => {
    let alive = true;
    const load = (): void => {
      void api.GET('/api/v1/quotas').then((r) => {
        if (!alive) return;
        if (!r.data) return setError(problemText(r.error, r.response.status));
        setItems(r.data.items);
        setError(undefined);
      });
      const to = Date.now();
      void api.GET('/api/v1/quotas/history', { params: { query: { since: range } } }).then((r) => {
        if (!alive || !r.data) return;
        setHistory({ series: new Map(r.data.items.map((h) => [seriesKey(h.tenant, h.scope, h.subject, h.limit), h.points])), from: to - RANGES[range], to });
      });
    };
    load();
    const t = setInterval(load, REFRESH_MS);
    return () => ((alive = false), clearInterval(t));
  }, [range]);

  return (
    <section aria-labelledby="quotas-title">
      <div class="toolbar">
        <h1 id="quotas-title">Quotas</h1>
        <label>
          History{' '}
          <select id="quota-range" value={range} onChange={(e) => navigate(`/quotas${withQuery(query, { range: (e.target as HTMLSelectElement).value })}`, true)}>
            {Object.keys(RANGES).map((r) => (
              <option key={r} value={r}>
                last {r}
              </option>
            ))}
          </select>
        </label>
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {items && items.length === 0 && <p class="empty">No quotas: multi-tenancy is off, or no tenant is visible to you.</p>}
      <div class="cards">
        {(items ?? []).map((t) => {
          const subjects = new Map<string, TenantQuotas['limits']>();
          for (const l of t.limits) {
            const k = `${l.scope}\u0000${l.subject}`;
            subjects.set(k, [...(subjects.get(k) ?? []), l]);
          }
          return (
            <article key={t.tenant} class="card" data-tenant={t.tenant} aria-labelledby={`tenant-${t.tenant}`}>
              <div class="card-head">
                <h2 id={`tenant-${t.tenant}`}>{t.tenant}</h2>
                {t.limits.some((l) => l.over) && <span class="chip s-bad">over quota</span>}
              </div>
              <p class="muted" data-testid="schedule">
                Schedule in force: <b>{t.schedule.active ?? 'default limits'}</b>
                {t.schedule.next_switch_at ? <> · next switch {formatTime(t.schedule.next_switch_at, tz)}</> : <> · no switch ahead</>}
              </p>
              {t.limits.length === 0 && <p class="muted">No limits set.</p>}
              {[...subjects.values()].map((lines) => (
                <div key={`${lines[0].scope}/${lines[0].subject}`} class="quota-subject" data-scope={lines[0].scope} data-subject={lines[0].subject}>
                  <h3>
                    {lines[0].scope} {lines[0].subject}
                  </h3>
                  {lines.map((l) => (
                    <div key={l.limit} class={l.over ? 'over' : ''} data-limit={l.limit}>
                      <Bar label={`${LABEL[l.limit] ?? l.limit}${l.over ? ' (over)' : ''}`} used={l.usage} total={l.value} />
                      {history && <HistoryChart label={`${LABEL[l.limit] ?? l.limit} of ${l.scope} ${l.subject}, last ${range}`} points={history.series.get(seriesKey(t.tenant, l.scope, l.subject, l.limit)) ?? []} from={history.from} to={history.to} />}
                    </div>
                  ))}
                </div>
              ))}
            </article>
          );
        })}
      </div>
    </section>
  );
}
