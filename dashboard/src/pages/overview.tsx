// Fleet overview: every cluster with its health, allocation, jobs by state and why jobs wait.
// This region's numbers follow the watch stream (refreshed a moment after changes arrive);
// peer regions come from scope=global (with each refresh, at least every 30 s) and carry their
// age: when the region last answered. A region that stops answering keeps its last cards, marked
// unreachable with that age, rather than vanishing from the page.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, problemText, type Aggregate, type ClusterStatus } from '../api/client';
import { onWatch } from '../api/watch';
import { Bar, Counts, fmt } from '../components/bars';
import { age, usePrefs, formatTime } from '../prefs';

/** A cluster without a delta for this long is shown as stale. */
const STALE_MS = 60_000;

interface Fleet {
  clusters: ClusterStatus[];
  aggregates: Map<string, Aggregate>;
  regions: string[];
  partial: string[];
  at: number;
}

/** What the page shows of one region: its cards as of `at` (when it last answered). */
interface RegionView {
  clusters: ClusterStatus[];
  at: number;
  reachable: boolean;
}

/** The regions after a refresh: those that answered as they are now; those that did not as they last were. */
function regionsOf(fleet: Fleet, previous: Map<string, RegionView> | undefined): Map<string, RegionView> {
  const out = new Map<string, RegionView>();
  for (const r of fleet.regions) out.set(r, { clusters: [], at: fleet.at, reachable: true });
  for (const c of fleet.clusters) {
    const r = c.region ?? '';
    if (!out.has(r)) out.set(r, { clusters: [], at: fleet.at, reachable: true });
    out.get(r)!.clusters.push(c);
  }
  for (const r of fleet.partial) {
    const last = previous?.get(r);
    out.set(r, { clusters: last?.clusters ?? [], at: last?.at ?? 0, reachable: false });
  }
  return out;
}

async function load(scope: 'region' | 'global'): Promise<Fleet> {
  const [c, a] = await Promise.all([api.GET('/api/v1/clusters', { params: { query: { scope } } }), api.GET('/api/v1/aggregates', { params: { query: { scope } } })]);
  if (!c.data) throw new Error(problemText(c.error, c.response.status));
  if (!a.data) throw new Error(problemText(a.error, a.response.status));
  return {
    clusters: c.data.items,
    aggregates: new Map(a.data.items.map((x) => [`${x.region ?? ''}/${x.cluster}`, x])),
    regions: c.data.regions ?? [],
    partial: c.data.partial ?? [],
    at: Date.now(),
  };
}

export function Overview() {
  const [fleet, setFleet] = useState<Fleet & { views: Map<string, RegionView> }>();
  const [error, setError] = useState<string>();
  const [, tick] = useState(0);
  const pending = useRef<number>();
  const { tz } = usePrefs();

  useEffect(() => {
    let alive = true;
    const refresh = (): void => {
      load('global')
        .then((f) => alive && (setFleet((prev) => ({ ...f, views: regionsOf(f, prev?.views), aggregates: new Map([...(prev?.aggregates ?? []), ...f.aggregates]) })), setError(undefined)))
        .catch((e: Error) => alive && setError(e.message));
    };
    refresh();
    // Changes arrive by the thousand: one refresh a second at most, not one per change.
    const off = onWatch(() => {
      if (pending.current === undefined) pending.current = window.setTimeout(() => ((pending.current = undefined), refresh()), 1000);
    });
    const peers = setInterval(refresh, 30_000);
    const clock = setInterval(() => tick((n) => n + 1), 5000);
    return () => {
      alive = false;
      off();
      clearInterval(peers);
      clearInterval(clock);
      window.clearTimeout(pending.current);
    };
  }, []);

  if (error && !fleet) return <p class="error" role="alert">{error}</p>;
  if (!fleet) return <p aria-busy="true">Loading the fleet…</p>;
  const home = fleet.regions[0] ?? '';
  const shown = [...fleet.views].filter(([region, v]) => v.clusters.length > 0 || (region && !v.reachable));
  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Fleet overview</h1>
      {error && <p class="error" role="alert">{error}</p>}
      {fleet.partial.length > 0 && (
        <p class="warn" role="status">
          Unreachable regions: {fleet.partial.join(', ')}. Their clusters are shown as they last answered, if they ever did.
        </p>
      )}
      {shown.map(([region, view]) => (
        <section key={region} aria-label={region ? `Region ${region}` : 'This region'} data-region={region} data-reachable={String(view.reachable)}>
          {region && (
            <h2 class="region">
              Region {region}{' '}
              {region === home ? (
                '(this hub, live)'
              ) : view.reachable ? (
                <span class="muted" data-testid="region-age">as of {age(new Date(view.at).toISOString())} ago</span>
              ) : (
                <span class="bad-text" data-testid="region-age">
                  unreachable{view.at ? `: last answered ${age(new Date(view.at).toISOString())} ago` : ', never answered'}
                </span>
              )}
            </h2>
          )}
          <div class="cards">
            {view.clusters.map((c) => (
              <ClusterCard key={`${region}/${c.name}`} status={c} agg={fleet.aggregates.get(`${c.region ?? ''}/${c.name}`)} tz={tz} unreachable={!view.reachable} />
            ))}
          </div>
        </section>
      ))}
      {fleet.clusters.length === 0 && <p class="muted">No clusters have reported to this hub yet (or none is visible to you).</p>}
    </section>
  );
}

function ClusterCard({ status: c, agg, tz, unreachable }: { status: ClusterStatus; agg: Aggregate | undefined; tz: 'utc' | 'local'; unreachable: boolean }) {
  const last = c.last_delta_at ?? c.last_observed_at;
  // A region that does not answer cannot vouch for its clusters: they are stale until it does.
  const stale = unreachable || c.stale === true || !last || Date.now() - Date.parse(last) > STALE_MS;
  const controllerUp = agg ? agg.controllers.length === 0 || agg.controllers.some((x) => x.responding) : undefined;
  return (
    <article class="card" aria-labelledby={`cluster-${c.name}`} data-cluster={c.name}>
      <header class="card-head">
        <h3 id={`cluster-${c.name}`}>{c.name}</h3>
        <span class="muted">Slurm API {c.slurm_api_version || '?'}</span>
      </header>
      <ul class="health" aria-label={`${c.name} health`}>
        <li class={c.connected ? 'ok' : 'bad'}>{c.connected ? 'Agent connected' : 'Agent disconnected'}</li>
        <li class={controllerUp === false ? 'bad' : 'ok'}>{controllerUp === false ? 'Controller down' : 'Controller up'}</li>
        <li class={stale ? 'bad' : 'ok'} title={formatTime(last, tz)}>
          {stale ? 'Stale' : 'Fresh'}: updated {age(last)} ago{unreachable ? ' (region unreachable)' : c.stale_reason ? ` (${c.stale_reason})` : ''}
        </li>
      </ul>
      {agg && (
        <>
          <Bar label="CPUs" used={agg.cpus.allocated} total={agg.cpus.total} />
          <Bar label="Memory" used={Math.round(agg.memory_mb.allocated / 1024)} total={Math.round(agg.memory_mb.total / 1024)} unit=" GiB" />
          {agg.gpus.total > 0 && <Bar label="GPUs" used={agg.gpus.allocated} total={agg.gpus.total} />}
          <h4>Nodes ({fmt(c.nodes)})</h4>
          <Counts counts={agg.nodes_by_state} label={`${c.name} nodes by state`} />
          <h4>Jobs ({fmt(c.jobs)})</h4>
          <Counts counts={agg.jobs_by_state} label={`${c.name} jobs by state`} />
          {agg.pending_reasons.length > 0 && (
            <>
              <h4>Why jobs wait</h4>
              <table class="reasons">
                <thead>
                  <tr>
                    <th scope="col">Partition</th>
                    <th scope="col">Reason</th>
                    <th scope="col" class="num">Jobs</th>
                  </tr>
                </thead>
                <tbody>
                  {agg.pending_reasons.slice(0, 5).map((r) => (
                    <tr key={`${r.partition}/${r.reason}`}>
                      <td>{r.partition}</td>
                      <td>
                        <a href={`/jobs?cluster=${encodeURIComponent(c.name)}&state=PENDING&partition=${encodeURIComponent(r.partition)}`}>{r.reason}</a>
                      </td>
                      <td class="num">{fmt(r.jobs)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
        </>
      )}
    </article>
  );
}
