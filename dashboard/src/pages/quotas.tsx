// Quotas: per tenant, usage against every limit (tenant, account and user) as bars, the schedule in
// force and when it switches next (GET /api/v1/quotas; a tenant's member sees its own tenant only).
// Usage moves with jobs: the page lists again every 15 s.
import { useEffect, useState } from 'preact/hooks';
import { api, problemText, type TenantQuotas } from '../api/client';
import { Bar } from '../components/bars';
import { formatTime, usePrefs } from '../prefs';

const REFRESH_MS = 15_000;
const LABEL: Record<string, string> = { max_jobs: 'Jobs', max_nodes: 'Nodes', max_cpus: 'CPUs', max_gpus: 'GPUs', max_memory: 'Memory (MB)' };

export function Quotas() {
  const { tz } = usePrefs();
  const [items, setItems] = useState<TenantQuotas[]>();
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
    };
    load();
    const t = setInterval(load, REFRESH_MS);
    return () => ((alive = false), clearInterval(t));
  }, []);

  return (
    <section aria-labelledby="quotas-title">
      <h1 id="quotas-title">Quotas</h1>
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
