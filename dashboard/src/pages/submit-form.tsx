// Submit a batch job (POST /api/v1/jobs/{cluster}, sbatch's flags) from a panel over the jobs
// table, at /jobs/new. Shown only to users the gate lets create jobs. The hub checks everything:
// a refusal that names a field is shown beside that input, a quota refusal above the buttons with
// the limit, what is in use and what the job asked for. On success the new job's detail opens.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, problemText, type Problem, type SubmitBody } from '../api/client';

type Field = 'cluster' | 'account' | 'partition' | 'qos' | 'job_name' | 'script' | 'nodes' | 'ntasks' | 'cpus_per_task' | 'mem_mb' | 'time_minutes' | 'gres' | 'array' | 'chdir' | 'output';
const NUMBERS: { field: Field; label: string; hint?: string }[] = [
  { field: 'nodes', label: 'Nodes' },
  { field: 'ntasks', label: 'Tasks' },
  { field: 'cpus_per_task', label: 'CPUs per task' },
  { field: 'mem_mb', label: 'Memory per node (MiB)' },
  { field: 'time_minutes', label: 'Time limit (minutes)' },
];
const TEXTS: { field: Field; label: string; placeholder?: string }[] = [
  { field: 'account', label: 'Account' },
  { field: 'partition', label: 'Partition', placeholder: 'the default partition' },
  { field: 'qos', label: 'QOS', placeholder: 'the default QOS' },
  { field: 'job_name', label: 'Job name' },
  { field: 'gres', label: 'GRES', placeholder: 'gpu:1' },
  { field: 'array', label: 'Array', placeholder: '1-10%2' },
  { field: 'chdir', label: 'Working directory' },
  { field: 'output', label: 'Output file' },
];

type Quota = NonNullable<Problem['quota']>;

/** The body the hub expects from what the form holds: empty inputs left out, numbers as numbers (a non-number is sent as typed, for the hub to name). */
export function submitBody(values: Partial<Record<Field, string>>): SubmitBody {
  const body: Record<string, unknown> = {};
  for (const [k, raw] of Object.entries(values)) {
    const v = (raw ?? '').trim();
    if (k === 'cluster' || v === '') continue;
    if (k === 'script') body[v.startsWith('#!') ? 'script' : 'wrap'] = v.startsWith('#!') ? `${v}\n` : v;
    else if (NUMBERS.some((n) => n.field === k)) body[k] = /^\d+$/.test(v) ? Number(v) : v;
    else body[k] = v;
  }
  return body as SubmitBody;
}

export function SubmitForm({ onSubmitted, onClose }: { onSubmitted: (cluster: string, id: string, message: string) => void; onClose: () => void }) {
  const [values, setValues] = useState<Partial<Record<Field, string>>>({ script: '#!/bin/sh\n' });
  const [errors, setErrors] = useState<Partial<Record<Field, string>>>({});
  const [refusal, setRefusal] = useState<{ text: string; quota?: Quota }>();
  const [busy, setBusy] = useState(false);
  const [clusters, setClusters] = useState<string[]>([]);
  const heading = useRef<HTMLHeadingElement>(null);
  const cluster = values.cluster ?? clusters[0] ?? '';

  useEffect(() => {
    heading.current?.focus();
    // This region's clusters the user may see (a submit goes through this region's agents).
    void api.GET('/api/v1/clusters').then((r) => r.data && setClusters(r.data.items.map((c) => c.name).sort()));
  }, []);

  const set = (field: Field) => (e: Event) => setValues((v) => ({ ...v, [field]: (e.target as HTMLInputElement).value }));

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    setRefusal(undefined);
    const r = await api.POST('/api/v1/jobs/{cluster}', { params: { path: { cluster } }, body: submitBody(values) });
    setBusy(false);
    if (r.data) return onSubmitted(r.data.cluster, r.data.job_id, r.data.message);
    const problem = (r.error ?? {}) as Problem;
    // "wrap" is the script box too: a command without #! is sent as --wrap.
    const field = (problem.field === 'wrap' ? 'script' : problem.field) as Field | undefined;
    const text = problemText(r.error, r.response.status);
    if (field && (field === 'script' || NUMBERS.some((n) => n.field === field) || TEXTS.some((t) => t.field === field))) setErrors({ [field]: text });
    else setRefusal({ text, ...(problem.code === 'SF_QUOTA_EXCEEDED' && problem.quota ? { quota: problem.quota } : {}) });
  };

  const input = (field: Field, label: string, type: 'text' | 'number', placeholder?: string) => (
    <label key={field} class="field" for={`submit-${field}`}>
      {label}
      <input
        id={`submit-${field}`}
        name={field}
        type="text"
        inputMode={type === 'number' ? 'numeric' : undefined}
        placeholder={placeholder}
        value={values[field] ?? ''}
        onInput={set(field)}
        aria-invalid={errors[field] ? true : undefined}
        aria-describedby={errors[field] ? `submit-${field}-error` : undefined}
        autoComplete="off"
      />
      {errors[field] && (
        <span id={`submit-${field}-error`} class="field-error" data-field-error={field}>
          {errors[field]}
        </span>
      )}
    </label>
  );

  return (
    <aside class="detail submit" aria-labelledby="submit-title">
      <header>
        <h2 id="submit-title" tabIndex={-1} ref={heading}>
          Submit a job
        </h2>
        <button type="button" class="ghost" onClick={onClose} aria-label="Close the submit form">
          ×
        </button>
      </header>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <label class="field" for="submit-cluster">
          Cluster
          <select id="submit-cluster" value={cluster} onChange={set('cluster')}>
            {clusters.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </label>
        {TEXTS.slice(0, 4).map((t) => input(t.field, t.label, 'text', t.placeholder))}
        <label class="field" for="submit-script">
          Script, or one command to run
          <textarea
            id="submit-script"
            rows={6}
            class="mono"
            value={values.script ?? ''}
            onInput={set('script')}
            spellcheck={false}
            aria-invalid={errors.script ? true : undefined}
            aria-describedby={errors.script ? 'submit-script-error' : undefined}
          />
          {errors.script && (
            <span id="submit-script-error" class="field-error" data-field-error="script">
              {errors.script}
            </span>
          )}
        </label>
        <div class="field-grid">{NUMBERS.map((n) => input(n.field, n.label, 'number'))}</div>
        <div class="field-grid">{TEXTS.slice(4).map((t) => input(t.field, t.label, 'text', t.placeholder))}</div>
        {refusal && (
          <div class="error" role="alert" data-testid="submit-refusal">
            {refusal.quota ? (
              <>
                <b>Over quota:</b> the {refusal.quota.scope} {refusal.quota.subject} may use {refusal.quota.value} ({refusal.quota.limit}); {refusal.quota.usage} in use
                {refusal.quota.reserved ? `, ${refusal.quota.reserved} reserved` : ''}, and this job asks for {refusal.quota.request}.
              </>
            ) : (
              refusal.text
            )}
          </div>
        )}
        <div class="buttons">
          <button type="button" class="ghost" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" disabled={busy || !cluster}>
            {busy ? 'Submitting…' : 'Submit'}
          </button>
        </div>
      </form>
    </aside>
  );
}
