// One job: its timeline (submit, start, end), resources, nodes and exit code, with the actions
// the hub allows on it, and its runs from the job history (for users who may read it). Follows
// the watch stream while open: a job just submitted shows as soon as the hub hears of it, and a
// job that has left the queue is still shown by its history.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, mayI, problemText, type HistoryRun, type Job } from '../api/client';
import { onWatch } from '../api/watch';
import { stateClass } from '../components/bars';
import { formatTime, usePrefs } from '../prefs';

export function JobDetail({ cluster, id, remote, onAction, onClose }: { cluster: string; id: string; remote?: Job | undefined; onAction: (j: Job, command: string) => void; onClose: () => void }) {
  const [job, setJob] = useState<Job>();
  const [error, setError] = useState<string>();
  /** Not in the queue the hub holds: true, or the hub's answer when it said so (404). */
  const [gone, setGone] = useState<boolean | string>(false);
  const { tz } = usePrefs();
  const heading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    setJob(remote);
    setError(undefined);
    setGone(false);
    // A peer region's job: this hub neither holds it nor hears of its changes.
    if (remote) return heading.current?.focus();
    void api.GET('/api/v1/jobs/{cluster}/{id}', { params: { path: { cluster, id } } }).then((r) => {
      if (r.data) setJob(r.data);
      // Not (or no longer) in the queue the hub holds: the watch may still bring it, the history may know it.
      else if (r.response.status === 404) setGone(problemText(r.error, 404));
      else setError(problemText(r.error, r.response.status));
      heading.current?.focus();
    });
    return onWatch((m) => {
      if (m.kind !== 'job' || m.cluster !== cluster || m.id !== id) return;
      if (m.type === 'remove') setGone(true);
      else if (m.object) {
        setJob(m.object as Job);
        setGone(false);
      }
    });
  }, [cluster, id, remote?.region]);
  const finished = gone !== false || (job !== undefined && !ACTIVE.has(job.state));

  const timeline: [string, string | null | undefined][] = job ? [['Submitted', job.submit_time], ['Started', job.start_time], ['Ended', job.end_time]] : [];
  return (
    <aside class="detail" aria-labelledby="job-detail-title">
      <header>
        <h2 id="job-detail-title" tabIndex={-1} ref={heading}>
          Job {cluster}/{id}
        </h2>
        <button type="button" class="ghost" onClick={onClose} aria-label="Close job detail">
          ×
        </button>
      </header>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {gone !== false && job && (
        <p class="muted" data-testid="job-gone">
          This job has left the queue (the hub no longer lists it).
        </p>
      )}
      {gone !== false && !job && (
        <p class="error" role="alert" data-testid="job-gone">
          {typeof gone === 'string' ? `${gone}: ` : ''}not in the queue the hub holds (it may not have reached the hub yet, or it has ended).
        </p>
      )}
      {remote && (
        <p class="muted" data-testid="job-remote">
          In region {remote.region}: shown as that region's hub listed it. Act on it, and read its history, on that region's hub.
        </p>
      )}
      {job && (
        <>
          <p>
            <span class={`chip ${stateClass(job.state)}`}>{job.state}</span> {job.state_reason && job.state_reason !== 'None' ? <span class="muted">{job.state_reason}</span> : null}
          </p>
          <p class="name">{job.name}</p>
          <h3>Timeline</h3>
          <ol class="timeline">
            {timeline.map(([label, at]) => (
              <li key={label} class={at ? 'done' : 'todo'}>
                <b>{label}</b> <span class="mono">{at ? formatTime(at, tz) : '—'}</span>
              </li>
            ))}
          </ol>
          <h3>Resources</h3>
          <dl class="facts">
            <dt>User / account</dt>
            <dd>
              {job.user} / {job.account}
            </dd>
            <dt>Partition / QOS</dt>
            <dd>
              {job.partition} / {job.qos}
            </dd>
            <dt>CPUs / nodes</dt>
            <dd>
              {job.cpus} / {job.node_count}
            </dd>
            <dt>Memory</dt>
            <dd>{job.memory_mb !== null ? `${job.memory_mb} MB` : '—'}</dd>
            <dt>Time limit</dt>
            <dd>{job.time_limit_s !== null ? `${Math.round(job.time_limit_s / 60)} min` : '—'}</dd>
            <dt>TRES</dt>
            <dd class="mono">{job.tres || '—'}</dd>
            <dt>Nodes</dt>
            <dd class="mono">{job.node_list || '—'}</dd>
            <dt>Exit code</dt>
            <dd>{job.exit_code !== null ? `${job.exit_code}${job.exit_signal ? ` (signal ${job.exit_signal})` : ''}` : '—'}</dd>
            <dt>Working directory</dt>
            <dd class="mono">{job.working_dir || '—'}</dd>
          </dl>
          <div class="buttons">
            {(job.actions ?? []).map((a) => (
              <button key={a} type="button" class={a === 'cancel' ? 'danger' : ''} onClick={() => onAction(job, a)}>
                {a[0].toUpperCase() + a.slice(1)}
              </button>
            ))}
            {(job.actions ?? []).length === 0 && <p class="muted">You may not act on this job in its state.</p>}
          </div>
        </>
      )}
      {!remote && <History cluster={cluster} id={id} finished={finished} />}
    </aside>
  );
}

const ACTIVE = new Set(['PENDING', 'RUNNING', 'SUSPENDED', 'REQUEUED', 'CONFIGURING', 'RESIZING', 'COMPLETING']);
/** The hub reads finished runs from slurmdbd on an interval (history.backfill_interval): ask again until one shows, for a while. */
const HISTORY_RETRY_MS = 5_000;
const HISTORY_TRIES = 36;

/** The job's runs in the job history (one per run: a requeued job has several), newest first; only for users who may read the history. */
function History({ cluster, id, finished }: { cluster: string; id: string; finished: boolean }) {
  const [allowed, setAllowed] = useState(false);
  const [runs, setRuns] = useState<HistoryRun[]>();
  const [error, setError] = useState<string>();
  const { tz } = usePrefs();

  useEffect(() => void mayI('read', 'history').then(setAllowed), []);
  useEffect(() => {
    setRuns(undefined);
    setError(undefined);
    if (!allowed) return;
    let tries = 0;
    let timer: number | undefined;
    let alive = true;
    const ask = (): void => {
      void api.GET('/api/v1/history/jobs', { params: { query: { cluster, job_id: Number(id), limit: 20 } } }).then((r) => {
        if (!alive) return;
        if (!r.data) return setError(problemText(r.error, r.response.status));
        setRuns(r.data.items);
        if (r.data.items.length === 0 && finished && ++tries < HISTORY_TRIES) timer = window.setTimeout(ask, HISTORY_RETRY_MS);
      });
    };
    ask();
    return () => {
      alive = false;
      window.clearTimeout(timer);
    };
  }, [allowed, cluster, id, finished]);

  if (!allowed) return null;
  return (
    <section aria-labelledby="job-history-title" data-testid="job-history">
      <h3 id="job-history-title">History</h3>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {runs && runs.length === 0 && <p class="muted">{finished ? 'No run in the job history yet: the hub reads finished runs from the accounting database every minute or so.' : 'The history holds a job once it has ended.'}</p>}
      {runs && runs.length > 0 && (
        <ol class="runs">
          {runs.map((r) => (
            <li key={r.submit_time} data-run={r.submit_time}>
              <span class={`chip ${stateClass(r.state)}`}>{r.state}</span> exit code <b data-testid="run-exit">{r.exit_code}{r.exit_signal ? ` (signal ${r.exit_signal})` : ''}</b>
              <dl class="facts">
                <dt>Started / ended</dt>
                <dd class="mono">
                  {formatTime(r.start_time, tz)} / {formatTime(r.end_time, tz)}
                </dd>
                <dt>User / account</dt>
                <dd>
                  {r.user} / {r.account}
                </dd>
                <dt>Allocated</dt>
                <dd class="mono">{r.alloc_tres || '—'}</dd>
                <dt>Nodes</dt>
                <dd class="mono">{r.node_list || '—'}</dd>
              </dl>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
