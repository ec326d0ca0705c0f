// Nodes per cluster and partition, as a grid of state-coloured tiles or a table; drain and
// resume (with a reason) where the hub allows them. Follows the watch stream.
import { useEffect, useState } from 'preact/hooks';
import { api, problemText, runCommand, type ClusterStatus, type Node } from '../api/client';
import { onWatch } from '../api/watch';
import { stateClass } from '../components/bars';
import { Confirm, type PendingAction } from '../components/confirm';
import { PageMessages, type Notice } from '../components/page-messages';
import { navigate, useLocation, withQuery } from '../router';

/** What sinfo shows: the base state with +DRAIN when the flag is set. */
export function nodeState(n: Node): string {
  return n.flags.includes('DRAIN') && !n.state.startsWith('DRAIN') ? `${n.state}+DRAIN` : n.state;
}

export function Nodes() {
  const { query } = useLocation();
  const [clusters, setClusters] = useState<ClusterStatus[]>([]);
  const [nodes, setNodes] = useState<Node[]>();
  const [error, setError] = useState<string>();
  const [action, setAction] = useState<PendingAction>();
  const [notice, setNotice] = useState<Notice>();
  const cluster = query.get('cluster') ?? clusters[0]?.name ?? '';
  const partition = query.get('partition') ?? '';
  const view = query.get('view') === 'table' ? 'table' : 'grid';
  const selectedName = query.get('node') ?? '';

  useEffect(() => {
    void api.GET('/api/v1/clusters').then((r) => (r.data ? setClusters(r.data.items) : setError(problemText(r.error, r.response.status))));
  }, []);

  const load = (): void => {
    if (!cluster) return;
    void api.GET('/api/v1/nodes', { params: { query: { cluster, limit: 5000 } } }).then((r) => (r.data ? setNodes(r.data.items) : setError(problemText(r.error, r.response.status))));
  };
  useEffect(() => {
    setNodes(undefined);
    load();
    return onWatch((m) => {
      if (m.type === 'reset') return load();
      if (m.kind !== 'node' || m.cluster !== cluster) return;
      setNodes((list) => {
        if (!list) return list;
        const i = list.findIndex((n) => n.name === m.id);
        if (m.type === 'remove') return i < 0 ? list : list.filter((_, k) => k !== i);
        const next = m.object as Node;
        return i < 0 ? [...list, next] : list.map((n, k) => (k === i ? next : n));
      });
    });
    // Reloads when the cluster changes.
  }, [cluster]);

  const go = (changes: Record<string, string | undefined>): void => navigate(`/nodes${withQuery(query, changes)}`);
  const partitions = [...new Set((nodes ?? []).flatMap((n) => n.partitions))].sort();
  const shown = (nodes ?? []).filter((n) => !partition || n.partitions.includes(partition));
  const groups = partition ? [partition] : partitions.length ? partitions : [''];
  const selected = (nodes ?? []).find((n) => n.name === selectedName);

  const ask = (n: Node, command: 'drain' | 'resume'): void =>
    setAction({
      title: `${command === 'drain' ? 'Drain' : 'Resume'} node ${n.name} on ${n.cluster}?`,
      needsReason: command === 'drain',
      run: (reason) => runCommand('node', n.cluster, n.name, command, reason),
    });

  return (
    <section aria-labelledby="nodes-title">
      <div class="toolbar">
        <h1 id="nodes-title">Nodes</h1>
        <label>
          Cluster{' '}
          <select value={cluster} onChange={(e) => go({ cluster: (e.target as HTMLSelectElement).value, partition: undefined, node: undefined })}>
            {clusters.map((c) => (
              <option key={c.name} value={c.name}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Partition{' '}
          <select value={partition} onChange={(e) => go({ partition: (e.target as HTMLSelectElement).value })}>
            <option value="">all</option>
            {partitions.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </label>
        <div class="segmented" role="group" aria-label="View">
          <button type="button" aria-pressed={view === 'grid'} onClick={() => go({ view: undefined })}>
            Grid
          </button>
          <button type="button" aria-pressed={view === 'table'} onClick={() => go({ view: 'table' })}>
            Table
          </button>
        </div>
        <span class="count" role="status">
          {nodes ? `${shown.length} nodes` : 'Loading…'}
        </span>
      </div>
      <PageMessages error={error} notice={notice} />
      <Legend />
      {view === 'grid'
        ? groups.map((g) => (
            <section key={g} aria-label={g ? `Partition ${g}` : 'Nodes'}>
              {g && <h2 class="partition">{g}</h2>}
              <ul class="grid">
                {shown
                  .filter((n) => !g || n.partitions.includes(g))
                  .map((n) => (
                    <li key={n.name}>
                      <button
                        type="button"
                        class={`tile ${stateClass(nodeState(n))}${n.name === selectedName ? ' selected' : ''}`}
                        data-node={n.name}
                        aria-label={`${n.name}: ${nodeState(n)}, ${n.alloc_cpus} of ${n.cpus} CPUs in use`}
                        title={`${n.name} ${nodeState(n)}${n.reason ? `: ${n.reason}` : ''}`}
                        onClick={() => go({ node: n.name })}
                      >
                        <span class="tile-name">{n.name}</span>
                        <span class="tile-load" style={{ width: `${n.cpus ? Math.round((n.alloc_cpus / n.cpus) * 100) : 0}%` }} />
                      </button>
                    </li>
                  ))}
              </ul>
            </section>
          ))
        : (
            <table class="nodes">
              <caption class="sr-only">Nodes of {cluster}</caption>
              <thead>
                <tr>
                  <th scope="col">Node</th>
                  <th scope="col">State</th>
                  <th scope="col">Partitions</th>
                  <th scope="col" class="num">CPUs used</th>
                  <th scope="col" class="num">Memory used</th>
                  <th scope="col">GRES</th>
                  <th scope="col">Reason</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((n) => (
                  <tr key={n.name} data-node={n.name} class={n.name === selectedName ? 'selected' : ''}>
                    <td>
                      <a
                        href={`/nodes${withQuery(query, { node: n.name })}`}
                        onClick={(e) => {
                          e.preventDefault();
                          go({ node: n.name });
                        }}
                      >
                        {n.name}
                      </a>
                    </td>
                    <td>
                      <span class={`chip ${stateClass(nodeState(n))}`}>{nodeState(n)}</span>
                    </td>
                    <td>{n.partitions.join(', ')}</td>
                    <td class="num">
                      {n.alloc_cpus}/{n.cpus}
                    </td>
                    <td class="num">
                      {Math.round(n.alloc_memory_mb / 1024)}/{Math.round(n.memory_mb / 1024)} GiB
                    </td>
                    <td>{n.gres}</td>
                    <td>{n.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
      {selected && (
        <aside class="detail" aria-labelledby="node-detail-title">
          <header>
            <h2 id="node-detail-title">
              Node {selected.cluster}/{selected.name}
            </h2>
            <button type="button" class="ghost" aria-label="Close node detail" onClick={() => go({ node: undefined })}>
              ×
            </button>
          </header>
          <p>
            <span class={`chip ${stateClass(nodeState(selected))}`} data-testid="node-state">
              {nodeState(selected)}
            </span>
          </p>
          <dl class="facts">
            <dt>CPUs</dt>
            <dd>
              {selected.alloc_cpus} of {selected.cpus} allocated{selected.cpu_load !== null ? `, load ${selected.cpu_load}` : ''}
            </dd>
            <dt>Memory</dt>
            <dd>
              {selected.alloc_memory_mb} of {selected.memory_mb} MB allocated
            </dd>
            <dt>Partitions</dt>
            <dd>{selected.partitions.join(', ')}</dd>
            <dt>Features / GRES</dt>
            <dd>
              {selected.features.join(', ') || '—'} / {selected.gres || '—'}
            </dd>
            <dt>Reason</dt>
            <dd>{selected.reason ? `${selected.reason}${selected.reason_set_by ? ` (${selected.reason_set_by})` : ''}` : '—'}</dd>
          </dl>
          <div class="buttons">
            {(selected.actions ?? []).map((a) => (
              <button key={a} type="button" class={a === 'drain' ? 'danger' : ''} onClick={() => ask(selected, a as 'drain' | 'resume')}>
                {a === 'drain' ? 'Drain…' : 'Resume…'}
              </button>
            ))}
            {(selected.actions ?? []).length === 0 && <p class="muted">You may not drain or resume this node.</p>}
          </div>
        </aside>
      )}
      {action && (
        <Confirm
          action={action}
          onDone={(r) => {
            setAction(undefined);
            if (r) setNotice(r);
          }}
        />
      )}
    </section>
  );
}

function Legend() {
  const states = ['IDLE', 'MIXED', 'ALLOCATED', 'IDLE+DRAIN', 'DOWN'];
  return (
    <ul class="chips legend" aria-label="State colours">
      {states.map((s) => (
        <li key={s} class={`chip ${stateClass(s)}`}>
          {s}
        </li>
      ))}
    </ul>
  );
}
