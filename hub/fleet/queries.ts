// Read queries over the fleet state: filters, a stable order and opaque cursors.
import { BadRequestError } from '../../shared/errors/index.js';
import type { Job, Node, Partition } from '../../shared/model/index.js';
import type { FleetState } from './fleet-state.js';
import { JOB_FILTER_FIELDS, type JobFilterField } from './job-index.js';

export type JobFilter = Partial<Record<JobFilterField, string>>;

export interface Page<T> {
  items: T[];
  next_cursor?: string;
}

export const DEFAULT_LIMIT = 500;
export const MAX_LIMIT = 5000;

export function encodeCursor(parts: (string | number)[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

export function decodeCursor(cursor: string): (string | number)[] {
  try {
    const parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(parts) && parts.length === 2) return parts as (string | number)[];
  } catch {
    // fall through
  }
  throw new BadRequestError('invalid cursor: pass back the next_cursor of a previous page unchanged');
}

export function checkLimit(limit: number | undefined): number {
  if (limit === undefined || limit === 0) return DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new BadRequestError(`limit must be an integer from 1 to ${MAX_LIMIT}`);
  }
  return limit;
}

/** Taking one id from an index set costs about as much as walking one job (both a cache miss). */
const COLLECT_STEP = 1;
/** The walk checks its observed match rate this often. */
const WALK_CHECK = 2048;

/**
 * A page of jobs in (cluster, id) order after the cursor. Two plans, same answer:
 * - walk: follow each cluster's jobs in id order from the cursor and test the filters on each
 *   job, until limit + 1 match. Cheap when matches are common (a page is found early).
 * - collect: take the keys of the smallest matching index set, test the other sets, sort,
 *   slice. Cheap when matches are rare.
 * The walk goes first when its expected cost (jobs of the asked clusters / expected matches, the
 * filters taken as independent) is the lower one. It re-estimates from the matches it actually finds and hands
 * over to collect once walking on looks dearer: filters that exclude each other (a user and an
 * account that is not theirs) cost a few thousand jobs walked, then a collect.
 */
export function queryJobs(state: FleetState, filter: JobFilter, limitIn?: number, cursor?: string, visible?: (job: Job) => boolean): Page<Job> {
  const limit = checkLimit(limitIn);
  const after = cursor ? (decodeCursor(cursor) as [string, number]) : undefined;
  const active = JOB_FILTER_FIELDS.filter((f) => filter[f] !== undefined && filter[f] !== '');
  const wanted = active.map((f) => ({ field: f, value: normalizeFilterValue(f, filter[f]!) }));
  const byIndex = wanted.filter((w) => w.field !== 'cluster');
  // The asked clusters, in name order.
  const clusters = filter.cluster ? (state.jobOrder.has(filter.cluster) ? [filter.cluster] : []) : [...state.jobOrder.keys()].sort();
  let total = 0;
  for (const order of state.jobOrder.values()) total += order.size;
  let inClusters = 0;
  for (const c of clusters) inClusters += state.jobOrder.get(c)!.size;
  let smallest = inClusters;
  let expected = inClusters;
  const selectivity = byIndex.map((w) => (total > 0 ? state.jobs.count(w.field, w.value) / total : 0));
  for (let i = 0; i < byIndex.length; i++) {
    smallest = Math.min(smallest, state.jobs.count(byIndex[i].field, byIndex[i].value));
    expected *= selectivity[i];
  }
  // Counted pairs give the exact share of two filters together; none together: nothing matches.
  for (let i = 0; i < byIndex.length; i++) {
    for (let j = i + 1; j < byIndex.length; j++) {
      const both = state.jobs.pairCount(byIndex[i].field, byIndex[i].value, byIndex[j].field, byIndex[j].value);
      if (both === undefined) continue;
      if (both === 0) return { items: [], next_cursor: undefined };
      let guess = (inClusters * both) / total;
      for (let k = 0; k < byIndex.length; k++) if (k !== i && k !== j) guess *= selectivity[k];
      expected = Math.min(expected, guess);
    }
  }
  const walkCost = expected > 0 ? Math.min(inClusters, ((limit + 1) * inClusters) / expected) : Infinity;
  const collectCost = COLLECT_STEP * smallest + expected * Math.log2(expected + 2);
  const filtered = predicate(byIndex);
  // The caller's RBAC row filter (policy/rbac): a test like any other, applied by both plans.
  const matches = visible ? (job: Job) => filtered(job) && visible(job) : filtered;
  if (byIndex.length === 0 || walkCost <= collectCost) {
    // Without index filters there is nothing to collect from: walk them whatever it costs.
    const page = walk(state, clusters, after, limit, matches, byIndex.length === 0 ? Infinity : collectCost);
    if (page) return page;
  }
  return collect(state, byIndex, clusters, after, limit, visible);
}

/** The walk plan; undefined when walking on would cost more than `collectCost` by the match rate seen so far. */
function walk(state: FleetState, clusters: string[], after: [string, number] | undefined, limit: number, matches: (job: Job) => boolean, collectCost: number): Page<Job> | undefined {
  const items: Job[] = [];
  let more = false;
  let walked = 0;
  scan: for (const cluster of clusters) {
    if (after && cluster < after[0]) continue;
    const order = state.jobOrder.get(cluster)!;
    const slots = order.slots;
    for (let i = after && cluster === after[0] ? order.indexAfter(after[1]) : 0; i < slots.length; i++) {
      const job = slots[i];
      if (job === undefined) continue;
      if (++walked % WALK_CHECK === 0) {
        const rate = (items.length + 1) / walked;
        if ((limit + 1 - items.length) / rate > collectCost) return undefined;
      }
      if (!matches(job)) continue;
      if (items.length === limit) {
        more = true;
        break scan;
      }
      items.push(job);
    }
  }
  const last = items[items.length - 1];
  return { items, next_cursor: more && last ? encodeCursor([last.cluster, last.id]) : undefined };
}

/**
 * The collect plan: cluster by cluster in name order, the ids of the smallest index entry that
 * every other entry has too (set lookups, no job is read), sorted; stop once the page is full.
 */
function collect(
  state: FleetState,
  byIndex: { field: JobFilterField; value: string }[],
  clusters: string[],
  after: [string, number] | undefined,
  limit: number,
  visible?: (job: Job) => boolean,
): Page<Job> {
  const entries = byIndex
    .map((w) => ({ count: state.jobs.count(w.field, w.value), byCluster: state.jobs.idsByCluster(w.field, w.value) }))
    .sort((a, b) => a.count - b.count);
  const items: Job[] = [];
  let more = false;
  for (const cluster of clusters) {
    if (after && cluster < after[0]) continue;
    const first = entries[0].byCluster.get(cluster);
    if (!first) continue;
    const others: ReadonlySet<number>[] = [];
    for (let i = 1; i < entries.length; i++) {
      const ids = entries[i].byCluster.get(cluster);
      if (ids) others.push(ids);
    }
    if (others.length < entries.length - 1) continue;
    const afterId = after && cluster === after[0] ? after[1] : -1;
    const ids: number[] = [];
    for (const id of first) {
      if (id <= afterId) continue;
      let all = true;
      for (let i = 0; i < others.length && all; i++) all = others[i].has(id);
      if (all) ids.push(id);
    }
    ids.sort((a, b) => a - b);
    const order = state.jobOrder.get(cluster)!;
    for (const id of ids) {
      const job = order.get(id);
      if (!job || (visible && !visible(job))) continue;
      if (items.length === limit) {
        more = true;
        break;
      }
      items.push(job);
    }
    if (more) break;
  }
  const last = items[items.length - 1];
  return { items, next_cursor: more && last ? encodeCursor([last.cluster, last.id]) : undefined };
}

/**
 * The number of jobs matching `filter` as the indexes know it without reading a job: no filter,
 * a cluster, one indexed field (in a cluster or fleet-wide) or a counted pair; undefined otherwise.
 */
export function indexedJobCount(state: FleetState, filter: JobFilter): number | undefined {
  const active = JOB_FILTER_FIELDS.filter((f) => f !== 'cluster' && filter[f] !== undefined && filter[f] !== '');
  const cluster = filter.cluster || undefined;
  const wanted = active.map((f) => ({ field: f, value: normalizeFilterValue(f, filter[f]!) }));
  if (wanted.length === 0) {
    if (cluster) return state.jobOrder.get(cluster)?.size ?? 0;
    let n = 0;
    for (const order of state.jobOrder.values()) n += order.size;
    return n;
  }
  if (wanted.length === 1) return cluster ? state.jobs.countIn(cluster, wanted[0].field, wanted[0].value) : state.jobs.count(wanted[0].field, wanted[0].value);
  if (wanted.length === 2 && !cluster) return state.jobs.pairCount(wanted[0].field, wanted[0].value, wanted[1].field, wanted[1].value);
  return undefined;
}

/** A job filter (cluster included) as one test on a job: for plans that read every candidate. */
export function jobMatcher(filter: JobFilter): (job: Job) => boolean {
  const active = JOB_FILTER_FIELDS.filter((f) => filter[f] !== undefined && filter[f] !== '');
  return predicate(active.map((f) => ({ field: f, value: normalizeFilterValue(f, filter[f]!) })));
}

/** The filters as one test on a job: what the indexes would say, field by field. */
function predicate(filters: { field: JobFilterField; value: string }[]): (job: Job) => boolean {
  const tests = filters.map(({ field, value }) => fieldTest(field, value));
  if (tests.length === 0) return () => true;
  if (tests.length === 1) return tests[0];
  if (tests.length === 2) {
    const [a, b] = tests;
    return (job) => a(job) && b(job);
  }
  return (job) => {
    for (const t of tests) if (!t(job)) return false;
    return true;
  };
}

function fieldTest(field: JobFilterField, value: string): (job: Job) => boolean {
  switch (field) {
    case 'cluster':
      return (job) => job.cluster === value;
    case 'state':
      return (job) => job.state === value;
    case 'user':
      return (job) => job.user === value;
    case 'account':
      return (job) => job.account === value;
    case 'node':
      return (job) => job.nodes.includes(value);
    case 'partition':
      // A pending job may name several partitions ("debug,batch"): indexed one by one.
      return (job) => (job.partition.includes(',') ? job.partition.split(',').includes(value) : job.partition === value);
  }
}

function normalizeFilterValue(field: JobFilterField, value: string): string {
  return field === 'state' ? value.toUpperCase() : value;
}

export interface NodeFilter {
  cluster?: string;
  state?: string;
  partition?: string;
}

export function queryNodes(state: FleetState, filter: NodeFilter, limitIn?: number, cursor?: string, visible?: (node: Node) => boolean): Page<Node> {
  const limit = checkLimit(limitIn);
  const after = cursor ? (decodeCursor(cursor) as [string, string]) : undefined;
  const wantState = filter.state?.toUpperCase();
  let nodes = state.list('node', filter.cluster || undefined).filter(
    (n) =>
      (!wantState || n.state === wantState || n.flags.includes(wantState)) &&
      (!filter.partition || n.partitions.includes(filter.partition)) &&
      (!visible || visible(n)),
  );
  const cmp = (a: Node, b: Node): number => (a.cluster !== b.cluster ? (a.cluster < b.cluster ? -1 : 1) : a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  if (after) nodes = nodes.filter((n) => n.cluster > after[0] || (n.cluster === after[0] && n.name > after[1]));
  nodes.sort(cmp);
  const items = nodes.slice(0, limit);
  const last = items[items.length - 1];
  return { items, next_cursor: nodes.length > limit && last ? encodeCursor([last.cluster, last.name]) : undefined };
}

export function queryPartitions(state: FleetState, cluster?: string): Partition[] {
  return state
    .list('partition', cluster || undefined)
    .sort((a, b) => (a.cluster !== b.cluster ? (a.cluster < b.cluster ? -1 : 1) : a.name < b.name ? -1 : 1));
}
