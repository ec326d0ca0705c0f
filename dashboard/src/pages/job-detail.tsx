// One job: its timeline (submit, start, end), resources, nodes and exit code, with the actions
// the hub allows on it. Follows the watch stream while open.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, problemText, type Job } from '../api/client';
import { onWatch } from '../api/watch';
import { stateClass } from '../components/bars';
import { formatTime, usePrefs } from '../prefs';

export function JobDetail({ cluster, id, onAction, onClose }: { cluster: string; id: string; onAction: (j: Job, command: string) => void; onClose: () => void }) {
  const [job, setJob] = useState<Job>();
  const [error, setError] = useState<string>();
  const { tz } = usePrefs();
  const heading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    setJob(undefined);
    void api.GET('/api/v1/jobs/{cluster}/{id}', { params: { path: { cluster, id } } }).then((r) => {
      if (r.data) setJob(r.data);
      else setError(problemText(r.error, r.response.status));
      heading.current?.focus();
    });
    return onWatch((m) => {
      if (m.kind !== 'job' || m.cluster !== cluster || m.id !== id) return;
      if (m.type === 'remove') setError('This job has left the queue (the hub no longer lists it).');
      else if (m.object) setJob(m.object as Job);
    });
  }, [cluster, id]);

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
    </aside>
  );
}
