// Alerts: what is pending, firing or recently resolved (filters in the URL), each with its
// escalation (policy, step, next notification, who acknowledged), silence and inhibition; ack and
// resolve where the hub allows them (the list carries the allowed actions per alert), and the
// silences below. Cards, not a table, so an ack is two taps on a phone (Acknowledge, then Confirm).
// The page follows the watch stream: an alert fired, acknowledged or resolved (fleet events of
// type alert_*), a silence created or ended (silence_*) or a reset makes it list again; so does each action here. Escalation steps and
// first notifications are not on the stream: the page lists again when the soonest step falls
// due, and while a firing alert waits for its first notification (group_wait).
import { useEffect, useState } from 'preact/hooks';
import { api, mayI, problemText, type Alert, type AlertQuery } from '../api/client';
import { onWatch } from '../api/watch';
import { Confirm, type PendingAction } from '../components/confirm';
import { PageMessages, type Notice } from '../components/page-messages';
import { age, formatTime, usePrefs } from '../prefs';
import { navigate, useLocation, withQuery } from '../router';
import { Silences } from './silences';

/** A burst of alert events (a rule firing on many clusters) is one listing. */
const COALESCE_MS = 250;
/** How often to look again while a firing alert has not been notified yet. */
const UNNOTIFIED_MS = 5_000;
const SEVERITIES = ['critical', 'warning', 'info'];

async function alertCommand(a: Alert, verb: 'ack' | 'resolve'): Promise<string> {
  const res = await api.POST(`/api/v1/alerts/{id}/${verb as 'ack'}`, { params: { path: { id: a.fingerprint } } });
  if (res.error !== undefined || !res.data) throw new Error(problemText(res.error, res.response.status));
  return `${verb === 'ack' ? 'Acknowledged' : 'Resolved'}: ${a.labels.alertname ?? a.fingerprint}${a.labels.cluster ? ` on ${a.labels.cluster}` : ''}`;
}

/** Milliseconds until the list may change without an event (an escalation step, a first notification). */
export function nextChangeIn(alerts: Alert[], now: number): number | undefined {
  let soonest: number | undefined;
  for (const a of alerts) {
    if (a.state !== 'firing' || a.silenced_by || a.inhibited_by) continue;
    if (a.groups.length === 0) soonest = Math.min(soonest ?? Infinity, UNNOTIFIED_MS);
    for (const g of a.groups) {
      if (g.acked_by || !g.next_at) continue;
      // A little after the step, so the hub has taken it; never a busy loop on a step overdue.
      soonest = Math.min(soonest ?? Infinity, Math.max(1_000, Date.parse(g.next_at) - now + 500));
    }
  }
  // setTimeout holds at most 2^31-1 ms.
  return soonest === undefined ? undefined : Math.min(soonest, 2 ** 31 - 1);
}

/** The matchers that silence exactly this alert's kind on its cluster. */
export function matchersFor(a: Alert): string[] {
  return ['alertname', 'cluster'].filter((k) => a.labels[k]).map((k) => `${k}="${a.labels[k]}"`);
}

export function Alerts() {
  const { query } = useLocation();
  const { tz } = usePrefs();
  const [alerts, setAlerts] = useState<Alert[]>();
  const [error, setError] = useState<string>();
  const [action, setAction] = useState<PendingAction>();
  const [notice, setNotice] = useState<Notice>();
  const [silenceFor, setSilenceFor] = useState<string[]>();
  const [version, setVersion] = useState(0);
  const [canSilence, setCanSilence] = useState(false);
  useEffect(() => void mayI('create', 'silences').then(setCanSilence), []);
  const filter: AlertQuery = {
    ...(query.get('state') ? { state: query.get('state') as AlertQuery['state'] } : {}),
    ...(query.get('severity') ? { severity: query.get('severity')! } : {}),
    ...(query.get('cluster') ? { cluster: query.get('cluster')! } : {}),
  };
  const key = JSON.stringify(filter);

  useEffect(() => {
    let alive = true;
    const load = (): void => {
      void api.GET('/api/v1/alerts', { params: { query: filter } }).then((r) => {
        if (!alive) return;
        if (!r.data) return setError(problemText(r.error, r.response.status));
        setAlerts(r.data.items);
        setError(undefined);
      });
    };
    let queued: number | undefined;
    const soon = (): void => {
      queued ??= window.setTimeout(() => ((queued = undefined), load()), COALESCE_MS);
    };
    load();
    const off = onWatch((m) => {
      if (m.type === 'reset' || (m.type === 'event' && /^(alert|silence)_/.test(String(m.object?.type ?? '')))) soon();
    });
    return () => ((alive = false), off(), window.clearTimeout(queued));
  }, [key, version]);

  // What the stream does not carry: list again when the soonest escalation step is due.
  useEffect(() => {
    const wait = nextChangeIn(alerts ?? [], Date.now());
    if (wait === undefined) return;
    const t = window.setTimeout(() => setVersion((v) => v + 1), wait);
    return () => window.clearTimeout(t);
  }, [alerts]);

  const go = (changes: Record<string, string | undefined>): void => navigate(`/alerts${withQuery(query, changes)}`, true);
  const ask = (a: Alert, verb: 'ack' | 'resolve'): void =>
    setAction({
      title: `${verb === 'ack' ? 'Acknowledge' : 'Resolve'} ${a.labels.alertname ?? 'alert'}${a.labels.cluster ? ` on ${a.labels.cluster}` : ''}?`,
      needsReason: false,
      noReason: true,
      confirmLabel: verb === 'ack' ? 'Acknowledge' : 'Resolve',
      run: () => alertCommand(a, verb),
    });
  const clusters = [...new Set((alerts ?? []).map((a) => a.labels.cluster).filter((c): c is string => !!c))].sort();
  if (filter.cluster && !clusters.includes(filter.cluster)) clusters.push(filter.cluster);

  return (
    <section aria-labelledby="alerts-title">
      <div class="toolbar">
        <h1 id="alerts-title">Alerts</h1>
        <Select label="State" value={filter.state ?? ''} options={['pending', 'firing', 'resolved']} onChange={(v) => go({ state: v })} />
        <Select label="Severity" value={filter.severity ?? ''} options={SEVERITIES} onChange={(v) => go({ severity: v })} />
        <Select label="Cluster" value={filter.cluster ?? ''} options={clusters} onChange={(v) => go({ cluster: v })} />
        <span class="count" data-testid="alert-count">
          {alerts ? `${alerts.length} alert${alerts.length === 1 ? '' : 's'}` : ''}
        </span>
      </div>
      <PageMessages error={error} notice={notice} />
      {alerts && alerts.length === 0 && <p class="empty">No alerts match.</p>}
      <ul class="alert-list" aria-label="Alerts">
        {(alerts ?? []).map((a) => (
          <li key={a.fingerprint}>
            <article class={`alert-card sev-${a.labels.severity ?? 'none'}`} data-alert={a.fingerprint} aria-labelledby={`alert-${a.fingerprint}`}>
              <header>
                <h2 id={`alert-${a.fingerprint}`}>{a.labels.alertname ?? a.fingerprint}</h2>
                <span class={`chip ${a.state === 'firing' ? 's-bad' : a.state === 'pending' ? 's-wait' : 's-ok'}`}>{a.state}</span>
                {a.labels.severity && <span class="chip s-other">{a.labels.severity}</span>}
              </header>
              <p class="summary">{a.annotations.summary}</p>
              <p class="muted meta">
                {a.labels.cluster && <>Cluster {a.labels.cluster} · </>}
                <span title={formatTime(a.active_since, tz)}>since {age(a.active_since)}</span>
                {a.resolved_by && <> · resolved by {a.resolved_by}</>}
              </p>
              <Escalation a={a} tz={tz} />
              {((a.actions?.length ?? 0) > 0 || (canSilence && a.state !== 'resolved' && !a.silenced_by)) && (
                <div class="buttons">
                  {a.actions?.includes('ack') && (
                    <button type="button" class="primary" onClick={() => ask(a, 'ack')}>
                      Acknowledge
                    </button>
                  )}
                  {a.actions?.includes('resolve') && (
                    <button type="button" onClick={() => ask(a, 'resolve')}>
                      Resolve
                    </button>
                  )}
                  {canSilence && a.state !== 'resolved' && !a.silenced_by && (
                    <button type="button" class="ghost" onClick={() => setSilenceFor(matchersFor(a))}>
                      Silence…
                    </button>
                  )}
                </div>
              )}
            </article>
          </li>
        ))}
      </ul>
      <Silences canCreate={canSilence} prefill={silenceFor} onChange={() => setVersion((v) => v + 1)} />
      {action && (
        <Confirm
          action={action}
          onDone={(result) => {
            setAction(undefined);
            if (!result) return;
            setNotice(result);
            setVersion((v) => v + 1);
          }}
        />
      )}
    </section>
  );
}

/** Where the alert's paging stands: silenced, inhibited, or per group its policy step and ack. */
function Escalation({ a, tz }: { a: Alert; tz: 'utc' | 'local' }) {
  if (a.silenced_by) return <p class="warn">Silenced by {a.silenced_by}</p>;
  if (a.inhibited_by) return <p class="warn">Inhibited by {a.inhibited_by}</p>;
  if (a.groups.length === 0) return a.state === 'resolved' ? null : <p class="muted">Not notified yet (no route or still in group_wait).</p>;
  return (
    <ul class="escalation" aria-label="Escalation">
      {a.groups.map((g) => (
        <li key={g.group_key} data-testid="escalation">
          {g.acked_by ? (
            <span class="chip s-ok">Acknowledged by {g.acked_by}</span>
          ) : (
            <span class="chip s-wait">{g.policy ? `Escalating: ${g.policy}, step ${g.step + 1}` : 'Notified'}</span>
          )}{' '}
          {g.channels_notified.length > 0 && <span class="muted">to {g.channels_notified.join(', ')}</span>}
          {!g.acked_by && g.next_at && <span class="muted"> · next {formatTime(g.next_at, tz)}</span>}
          {g.acked_at && <span class="muted"> · {formatTime(g.acked_at, tz)}</span>}
        </li>
      ))}
    </ul>
  );
}

export function Select({ label, value, options, onChange }: { label: string; value: string; options: string[]; onChange: (v: string | undefined) => void }) {
  return (
    <label>
      {label}{' '}
      <select value={value} onChange={(e) => onChange((e.target as HTMLSelectElement).value || undefined)}>
        <option value="">all</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </label>
  );
}
