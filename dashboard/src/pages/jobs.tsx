// Jobs over the whole fleet: one virtualized table (only the rows in view are in the DOM),
// filtered, sorted, counted and paged by the hub; rows follow the watch stream; actions appear
// only where the hub says this user may take them. With peer regions, "All regions" asks the hub
// for scope=global: every region's jobs in one order, each row marked with its region.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, mayI, problemText, runCommand, type Job, type JobQuery } from '../api/client';
import { onWatch, type WatchMessage } from '../api/watch';
import { stateClass } from '../components/bars';
import { Confirm, type PendingAction } from '../components/confirm';
import { PageMessages, type Notice } from '../components/page-messages';
import { formatTime, usePrefs } from '../prefs';
import { navigate, useLocation, withQuery } from '../router';
import { FILTER_KEYS, filterText, parseFilter } from './job-filter';
import { JobDetail } from './job-detail';
import { SubmitForm } from './submit-form';
import { applyJobChanges, BATCH_MS, FRESH_CAP, jobKey, type LiveRows } from './job-live';

const ROW = 34;
const PAGE = 200;
type SortField = NonNullable<JobQuery['sort']>;
type Column = { key: SortField | 'name' | 'nodes' | 'actions' | 'region'; label: string; sort?: SortField; width: string };
const COLUMNS: Column[] = [
  { key: 'id', label: 'Job', sort: 'id', width: '9rem' },
  { key: 'name', label: 'Name', width: 'minmax(8rem, 1.4fr)' },
  { key: 'user', label: 'User', sort: 'user', width: '7rem' },
  { key: 'account', label: 'Account', sort: 'account', width: '7rem' },
  { key: 'partition', label: 'Partition', sort: 'partition', width: '7rem' },
  { key: 'state', label: 'State', sort: 'state', width: '8rem' },
  { key: 'submit_time', label: 'Submitted', sort: 'submit_time', width: '12.5rem' },
  { key: 'start_time', label: 'Started', sort: 'start_time', width: '12.5rem' },
  { key: 'nodes', label: 'Nodes', width: 'minmax(6rem, 1fr)' },
  { key: 'actions', label: 'Actions', width: '9.5rem' },
];
const REGION_COLUMN: Column = { key: 'region', label: 'Region', width: '6rem' };
export { jobKey };

interface Listing extends LiveRows {
  capped: boolean;
  cursor: string | null;
  loading: boolean;
  error?: string;
  /** scope=global: the regions that did not answer (their jobs are missing). */
  partial?: string[];
}

export function Jobs() {
  const { path, query } = useLocation();
  const { tz } = usePrefs();
  const qs = query.toString();
  const sort = (query.get('sort') ?? 'submit_time') as SortField;
  const order = (query.get('order') ?? 'desc') as 'asc' | 'desc';
  const [list, setList] = useState<Listing>({ rows: [], total: null, capped: false, cursor: null, loading: true, fresh: new Set() });
  const [selected, setSelected] = useState(0);
  const [text, setText] = useState(filterText(query));
  const [action, setAction] = useState<PendingAction>();
  const [notice, setNotice] = useState<Notice>();
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);
  const generation = useRef(0);
  const filterInput = useRef<HTMLInputElement>(null);
  const detail = /^\/jobs\/([^/]+)\/(\d+)$/.exec(path);
  const global = query.get('scope') === 'global';
  // The regions the hub knows (this one first): more than one offers "All regions".
  const [regions, setRegions] = useState<string[]>([]);
  useEffect(() => void api.GET('/api/v1/clusters', { params: { query: { scope: 'global' } } }).then((r) => r.data?.regions && setRegions(r.data.regions)), []);
  const home = regions[0];
  const columns = global ? [COLUMNS[0], REGION_COLUMN, ...COLUMNS.slice(1)] : COLUMNS;
  const grid = columns.map((c) => c.width).join(' ');
  const [maySubmit, setMaySubmit] = useState(false);
  useEffect(() => void mayI('create', 'jobs').then(setMaySubmit), []);

  const params = useCallback(
    (cursor?: string): JobQuery => {
      const q: JobQuery = { sort, order, limit: PAGE, count: !cursor };
      for (const k of FILTER_KEYS) if (query.get(k)) q[k] = query.get(k)!;
      if (cursor) q.cursor = cursor;
      if (global) q.scope = 'global';
      return q;
    },
    // qs carries every filter.
    [qs],
  );

  const reload = useCallback(() => {
    const gen = ++generation.current;
    setList((l) => ({ ...l, loading: true, error: undefined }));
    void api.GET('/api/v1/jobs', { params: { query: params() } }).then((r) => {
      if (gen !== generation.current) return;
      if (!r.data) return setList({ rows: [], total: 0, capped: false, cursor: null, loading: false, error: problemText(r.error, r.response.status), fresh: new Set() });
      setList({ rows: r.data.items, total: r.data.total ?? r.data.items.length, capped: r.data.total_capped ?? false, cursor: r.data.next_cursor ?? null, loading: false, fresh: new Set(), partial: r.data.partial });
    });
  }, [params]);

  useEffect(() => {
    reload();
    setSelected(0);
    if (scroller.current) scroller.current.scrollTop = 0;
  }, [reload]);

  // More rows once the view comes near the end of what is loaded (cursor paging is sequential).
  const first = Math.floor(scrollTop / ROW);
  const visible = Math.ceil(height / ROW) + 1;
  useEffect(() => {
    if (list.loading || !list.cursor || first + visible * 2 < list.rows.length) return;
    const gen = generation.current;
    setList((l) => ({ ...l, loading: true }));
    void api.GET('/api/v1/jobs', { params: { query: params(list.cursor) } }).then((r) => {
      if (gen !== generation.current) return;
      if (!r.data) return setList((l) => ({ ...l, loading: false, error: problemText(r.error, r.response.status) }));
      const more = r.data.items;
      setList((l) => ({ ...l, rows: [...l.rows, ...more], cursor: r.data!.next_cursor ?? null, loading: false }));
    });
  }, [first, visible, list.cursor, list.loading, list.rows.length, params]);

  // Live: the watch stream's job changes, gathered and applied in batches (job-live.ts).
  useEffect(() => {
    let batch: WatchMessage[] = [];
    let timer: number | undefined;
    const flush = (): void => {
      timer = undefined;
      const messages = batch;
      batch = [];
      setList((l) => applyJobChanges(l, messages, query.get('state')));
    };
    const off = onWatch((m) => {
      if (m.type === 'reset') {
        batch = [];
        return reload();
      }
      if (m.kind !== 'job') return;
      batch.push(m);
      timer ??= window.setTimeout(flush, BATCH_MS);
    });
    return () => {
      off();
      window.clearTimeout(timer);
    };
  }, [reload, qs]);

  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const open = (j: Job): void => navigate(`/jobs/${encodeURIComponent(j.cluster)}/${j.id}${withQuery(query, {})}`);

  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if ((e.target as HTMLElement).closest('input, textarea, select, dialog') || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === '/') {
        e.preventDefault();
        filterInput.current?.focus();
      } else if (e.key === 'j' || e.key === 'k') {
        setSelected((s) => {
          const n = Math.max(0, Math.min(list.rows.length - 1, s + (e.key === 'j' ? 1 : -1)));
          const el = scroller.current;
          if (el && (n * ROW < el.scrollTop || (n + 1) * ROW > el.scrollTop + el.clientHeight - ROW)) el.scrollTop = Math.max(0, n * ROW - el.clientHeight / 2);
          return n;
        });
      } else if (e.key === 'Enter' && list.rows[selected]) open(list.rows[selected]);
      else if (e.key === 'Escape' && (detail || path === '/jobs/new')) navigate(`/jobs${withQuery(query, {})}`);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  // The filter box writes the URL (shareable) a moment after typing stops. The URL is read when
  // the timer fires, not when typing began: a sort clicked meanwhile (or on a fresh page, within
  // this moment of its first render) must stay.
  useEffect(() => {
    const t = setTimeout(() => {
      const wanted = parseFilter(text);
      const changes: Record<string, string | undefined> = {};
      for (const k of FILTER_KEYS) changes[k] = wanted[k];
      const next = `/jobs${withQuery(new URLSearchParams(location.search), changes)}`;
      if (next !== `/jobs${location.search}` || path !== '/jobs') if (path === '/jobs') navigate(next, true);
    }, 200);
    return () => clearTimeout(t);
    // Only typing moves the URL.
  }, [text]);

  const sortBy = (field: SortField): void => {
    const nextOrder = sort === field && order === 'desc' ? 'asc' : 'desc';
    navigate(`${path}${withQuery(query, { sort: field, order: nextOrder })}`);
  };

  const ask = (j: Job, command: string): void =>
    setAction({
      title: `${command[0].toUpperCase()}${command.slice(1)} job ${j.id} on ${j.cluster}?`,
      needsReason: false,
      run: (reason) => runCommand('job', j.cluster, String(j.id), command as 'cancel', reason),
    });

  const rowsInView = list.rows.slice(first, first + visible);
  const total = list.total ?? list.rows.length;
  return (
    <section class="jobs" aria-labelledby="jobs-title">
      <div class="toolbar">
        <h1 id="jobs-title">Jobs</h1>
        <label class="filter">
          <span class="sr-only">Filter jobs</span>
          <input
            ref={filterInput}
            id="job-filter"
            type="search"
            placeholder="Filter: state:pending user:alice account:physics partition:gpu cluster:east   ( / )"
            value={text}
            onInput={(e) => setText((e.target as HTMLInputElement).value)}
            onKeyDown={(e) => e.key === 'Escape' && (e.target as HTMLInputElement).blur()}
            aria-describedby="job-count"
            autoComplete="off"
            spellcheck={false}
          />
        </label>
        {list.fresh.size > 0 && (
          <button type="button" class="small" onClick={reload} data-testid="fresh">
            {list.fresh.size >= FRESH_CAP ? `${FRESH_CAP.toLocaleString('en-US')}+` : list.fresh.size} more changed: refresh
          </button>
        )}
        {regions.length > 1 && (
          <label class="scope">
            <input type="checkbox" checked={global} onChange={() => navigate(`/jobs${withQuery(query, { scope: global ? undefined : 'global', cursor: undefined })}`)} /> All regions
          </label>
        )}
        {maySubmit && (
          <button type="button" class="small" onClick={() => navigate(`/jobs/new${withQuery(query, {})}`)}>
            Submit job…
          </button>
        )}
        <span id="job-count" class="count" role="status" aria-live="polite" data-testid="job-count">
          {list.loading && list.rows.length === 0 ? 'Loading…' : `${total.toLocaleString('en-US')}${list.capped ? '+' : ''} jobs`}
        </span>
      </div>
      <PageMessages error={list.error ?? (list.partial?.length ? `Regions that did not answer: ${list.partial.join(', ')}. Their jobs are missing.` : undefined)} notice={notice} onDismiss={() => setNotice(undefined)} />
      <div class="table" role="table" aria-label="Jobs" aria-rowcount={total + 1}>
        <div class="thead" role="rowgroup">
          <div class="tr" role="row" style={{ gridTemplateColumns: grid }} aria-rowindex={1}>
            {columns.map((c) => (
              <div key={c.key} role="columnheader" class="th" aria-sort={c.sort && c.sort === sort ? (order === 'asc' ? 'ascending' : 'descending') : undefined}>
                {c.sort ? (
                  <button type="button" class="sort" onClick={() => sortBy(c.sort!)}>
                    {c.label}
                    {c.sort === sort ? (order === 'asc' ? ' ▲' : ' ▼') : ''}
                  </button>
                ) : (
                  c.label
                )}
              </div>
            ))}
          </div>
        </div>
        <div class="tbody" role="rowgroup" ref={scroller} onScroll={(e) => setScrollTop((e.target as HTMLDivElement).scrollTop)} tabIndex={0} aria-label="Job rows">
          <div style={{ height: `${Math.max(list.rows.length, Math.min(total, list.rows.length + PAGE)) * ROW}px`, position: 'relative' }}>
            {rowsInView.map((j, k) => {
              const i = first + k;
              return (
                <div
                  key={jobKey(j)}
                  role="row"
                  aria-rowindex={i + 2}
                  aria-selected={i === selected}
                  class={`tr row${i === selected ? ' selected' : ''}`}
                  data-job={jobKey(j)}
                  data-region={j.region}
                  style={{ gridTemplateColumns: grid, transform: `translateY(${i * ROW}px)` }}
                  onClick={() => setSelected(i)}
                  onDblClick={() => open(j)}
                >
                  <div role="cell" class="td">
                    <a
                      href={`/jobs/${encodeURIComponent(j.cluster)}/${j.id}`}
                      onClick={(e) => {
                        e.preventDefault();
                        open(j);
                      }}
                    >
                      {j.cluster}/{j.id}
                    </a>
                  </div>
                  {global && (
                    <div role="cell" class="td" data-testid="job-region">
                      {j.region ?? home}
                    </div>
                  )}
                  <div role="cell" class="td" title={j.name}>
                    {j.name}
                  </div>
                  <div role="cell" class="td">
                    {j.user}
                  </div>
                  <div role="cell" class="td">
                    {j.account}
                  </div>
                  <div role="cell" class="td">
                    {j.partition}
                  </div>
                  <div role="cell" class="td">
                    <span class={`chip ${stateClass(j.state)}`}>{j.state}</span>
                  </div>
                  <div role="cell" class="td mono">
                    {formatTime(j.submit_time, tz)}
                  </div>
                  <div role="cell" class="td mono">
                    {formatTime(j.start_time, tz)}
                  </div>
                  <div role="cell" class="td" title={j.node_list}>
                    {j.node_list}
                  </div>
                  <div role="cell" class="td actions">
                    {(j.actions ?? []).map((a) => (
                      <button key={a} type="button" class={`small${a === 'cancel' ? ' danger' : ''}`} onClick={() => ask(j, a)} aria-label={`${a} job ${j.cluster}/${j.id}`}>
                        {a}
                      </button>
                    ))}
                  </div>
                </div>
              );
            })}
          </div>
          {!list.loading && list.rows.length === 0 && !list.error && <p class="empty">No jobs match.</p>}
        </div>
      </div>
      {path === '/jobs/new' && maySubmit && (
        <SubmitForm
          onClose={() => navigate(`/jobs${withQuery(query, {})}`)}
          onSubmitted={(cluster, id, message) => {
            setNotice({ ok: true, text: `Job ${cluster}/${id} submitted${message ? `: ${message}` : ''}` });
            navigate(`/jobs/${encodeURIComponent(cluster)}/${id}${withQuery(query, {})}`);
          }}
        />
      )}
      {detail && <JobDetail cluster={decodeURIComponent(detail[1])} id={detail[2]} remote={remoteRow(list.rows, decodeURIComponent(detail[1]), detail[2], home)} onAction={ask} onClose={() => navigate(`/jobs${withQuery(query, {})}`)} />}
      {action && (
        <Confirm
          action={action}
          onDone={(r) => {
            setAction(undefined);
            if (r) setNotice(r);
            if (r?.ok) setTimeout(reload, 500);
          }}
        />
      )}
    </section>
  );
}

/** The listed row of a peer region's job (its detail is its region's: shown as listed, not asked of this hub). */
function remoteRow(rows: Job[], cluster: string, id: string, home: string | undefined): Job | undefined {
  const row = rows.find((j) => j.cluster === cluster && String(j.id) === id);
  return row?.region && home && row.region !== home ? row : undefined;
}
