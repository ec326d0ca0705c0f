// Silences under the alerts: the list (active and recently ended; Expire where the hub allows it)
// and a form to add one (matchers one per line, a duration, a comment), shown only to callers the
// gate lets create silences. "Silence…" on an alert fills the form with that alert's matchers.
// A silence created or ended anywhere (silence_* events on the watch stream) lists them again.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { api, problemText, type Silence } from '../api/client';
import { onWatch } from '../api/watch';
import { formatTime, usePrefs } from '../prefs';

const DURATIONS: [string, number][] = [
  ['1 hour', 3_600_000],
  ['4 hours', 4 * 3_600_000],
  ['1 day', 86_400_000],
  ['1 week', 7 * 86_400_000],
];

export function Silences({ canCreate, prefill, onChange }: { canCreate: boolean; prefill: string[] | undefined; onChange: () => void }) {
  const { tz } = usePrefs();
  const [items, setItems] = useState<Silence[]>();
  const [error, setError] = useState<string>();
  const [version, setVersion] = useState(0);

  useEffect(() => {
    void api.GET('/api/v1/silences').then((r) => (r.data ? (setItems(r.data.items), setError(undefined)) : setError(problemText(r.error, r.response.status))));
  }, [version]);
  useEffect(() => onWatch((m) => (m.type === 'reset' || (m.type === 'event' && String(m.object?.type ?? '').startsWith('silence_'))) && setVersion((v) => v + 1)), []);

  const changed = (): void => {
    setVersion((v) => v + 1);
    onChange();
  };
  const expire = async (s: Silence): Promise<void> => {
    const r = await api.DELETE('/api/v1/silences/{id}', { params: { path: { id: s.id } } });
    if (r.error !== undefined) setError(problemText(r.error, r.response.status));
    changed();
  };
  const now = Date.now();

  return (
    <section aria-labelledby="silences-title" class="silences">
      <h2 id="silences-title">Silences</h2>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {canCreate && <SilenceForm prefill={prefill} onCreated={changed} />}
      {items && items.length === 0 && <p class="muted">No silences.</p>}
      {items && items.length > 0 && (
        <table class="silence-table">
          <thead>
            <tr>
              <th scope="col">Matchers</th>
              <th scope="col">Ends</th>
              <th scope="col">By</th>
              <th scope="col">Comment</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((s) => (
              <tr key={s.id} data-silence={s.id} class={Date.parse(s.ends_at) <= now ? 'muted' : ''}>
                <td class="mono">{s.matchers.join(', ')}</td>
                <td>{formatTime(s.ends_at, tz)}</td>
                <td>{s.created_by}</td>
                <td>{s.comment}</td>
                <td>
                  {s.actions?.includes('expire') && (
                    <button type="button" class="small" onClick={() => void expire(s)}>
                      Expire
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function SilenceForm({ prefill, onCreated }: { prefill: string[] | undefined; onCreated: () => void }) {
  const [matchers, setMatchers] = useState('');
  const [duration, setDuration] = useState(DURATIONS[1][1]);
  const [comment, setComment] = useState('');
  const [result, setResult] = useState<{ ok: boolean; text: string }>();
  const [busy, setBusy] = useState(false);
  const box = useRef<HTMLTextAreaElement>(null);

  // A layout effect, not useEffect: Preact runs useEffect after the next frame, so the form stayed
  // empty for a frame after "Silence…" (a render that took a little longer, as with PageMessages,
  // let a quick reader see it empty). This fills it in the same task as the click.
  useLayoutEffect(() => {
    if (!prefill) return;
    setMatchers(prefill.join('\n'));
    box.current?.scrollIntoView({ block: 'center' });
    box.current?.focus();
  }, [prefill]);

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    const list = matchers.split('\n').map((m) => m.trim()).filter(Boolean);
    const r = await api.POST('/api/v1/silences', { body: { matchers: list, ends_at: new Date(Date.now() + duration).toISOString(), comment: comment.trim() } });
    setBusy(false);
    if (r.data) {
      setResult({ ok: true, text: `Silence ${r.data.id} added until ${r.data.ends_at}` });
      setMatchers('');
      setComment('');
      onCreated();
    } else setResult({ ok: false, text: problemText(r.error, r.response.status) });
  };

  return (
    <form class="silence-form" onSubmit={(e) => void submit(e)} aria-labelledby="silence-form-title">
      <h3 id="silence-form-title">New silence</h3>
      <label for="silence-matchers">Matchers (one per line, e.g. alertname="node_down")</label>
      <textarea id="silence-matchers" ref={box} rows={3} required value={matchers} onInput={(e) => setMatchers((e.target as HTMLTextAreaElement).value)} />
      <div class="row-fields">
        <label>
          For{' '}
          <select id="silence-duration" value={String(duration)} onChange={(e) => setDuration(Number((e.target as HTMLSelectElement).value))}>
            {DURATIONS.map(([label, ms]) => (
              <option key={ms} value={String(ms)}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label class="grow">
          Comment <input id="silence-comment" required maxLength={1024} value={comment} onInput={(e) => setComment((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit" disabled={busy}>
          {busy ? 'Adding…' : 'Add silence'}
        </button>
      </div>
      {result && (
        <p class={result.ok ? 'notice' : 'error'} role={result.ok ? 'status' : 'alert'} data-testid="silence-result">
          {result.text}
        </p>
      )}
    </form>
  );
}
