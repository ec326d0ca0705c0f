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

function compareJobKey(aCluster: string, aId: number, bCluster: string, bId: number): number {
  if (aCluster !== bCluster) return aCluster < bCluster ? -1 : 1;
  return aId - bId;
}

/**
 * A page of jobs in (cluster, id) order after the cursor. Two plans, same answer:
 * - walk: follow each cluster's jobs in id order from the cursor and test the filters on each
 *   job, until limit + 1 match. Cheap when matches are common (a page is found early).
 * - collect: take the keys of the smallest matching index set, test the other filters, sort,
 *   slice. Cheap when matches are rare.
 * The walk starts when its expected cost (jobs in scope / matches per job) is the lower one,
 * and gives up for collect when it has walked that cost twice over without filling the page.
 */
export function queryJobs(state: FleetState, filter: JobFilter, limitIn?: number, cursor?: string): Page<Job> {
  const limit = checkLimit(limitIn);
  const after = cursor ? (decodeCursor(cursor) as [string, number]) : undefined;
  const active = JOB_FILTER_FIELDS.filter((f) => filter[f] !== undefined && filter[f] !== '');
  const wanted = active.map((f) => ({ field: f, value: normalizeFilterValue(f, filter[f]!) }));
  const byIndex = wanted.filter((w) => w.field !== 'cluster');
  // Clusters in scope, in name order.
  const clusters = filter.cluster ? (state.jobOrder.has(filter.cluster) ? [filter.cluster] : []) : [...state.jobOrder.keys()].sort();
  let inScope = 0;
  for (const c of clusters) inScope += state.jobOrder.get(c)!.size;
  let smallest = Infinity;
  for (const w of byIndex) smallest = Math.min(smallest, state.jobs.count(w.field, w.value));
  if (byIndex.length === 0) smallest = inScope;
  const matches = (job: Job): boolean => {
    for (const w of byIndex) if (!jobHas(job, w.field, w.value)) return false;
    return true;
  };
  // Expected jobs walked to find limit + 1 matches, against sorting the smallest set.
  const walkCost = smallest === 0 ? Infinity : ((limit + 1) * inScope) / smallest;
  const collectCost = smallest * (Math.log2(smallest + 1) + 4);
  if (walkCost <= collectCost) {
    const page = walk(state, clusters, after, limit, matches, Math.max(2 * collectCost, 2 * walkCost, 10_000));
    if (page) return page;
  }
  return collect(state, wanted, after, limit);
}

/** The walk plan; undefined when it walked `budget` jobs without filling the page. */
function walk(state: FleetState, clusters: string[], after: [string, number] | undefined, limit: number, matches: (job: Job) => boolean, budget: number): Page<Job> | undefined {
  const items: Job[] = [];
  let more = false;
  let walked = 0;
  for (const cluster of clusters) {
    if (after && cluster < after[0]) continue;
    const afterId = after && cluster === after[0] ? after[1] : -1;
    state.jobOrder.get(cluster)!.forEachAfter(afterId, (job) => {
      walked++;
      if (matches(job)) {
        if (items.length === limit) {
          more = true;
          return false;
        }
        items.push(job);
      }
      return walked <= budget;
    });
    if (more || walked > budget) break;
  }
  if (!more && walked > budget) return undefined;
  const last = items[items.length - 1];
  return { items, next_cursor: more && last ? encodeCursor([last.cluster, last.id]) : undefined };
}

/** The collect plan: the smallest index set, the other filters, sorted. */
function collect(state: FleetState, wanted: { field: JobFilterField; value: string }[], after: [string, number] | undefined, limit: number): Page<Job> {
  let candidates: Job[];
  if (wanted.length === 0) {
    candidates = state.list('job');
  } else {
    // Walk the smallest index, check the others.
    const sets = wanted.map((w) => ({ f: w.field, set: state.jobs.lookup(w.field, w.value) }));
    sets.sort((a, b) => a.set.size - b.set.size);
    const [first, ...rest] = sets;
    candidates = [];
    for (const key of first.set) {
      if (rest.every(({ set }) => set.has(key))) {
        const slash = key.indexOf('/');
        const job = state.job(key.slice(0, slash), key.slice(slash + 1));
        if (job) candidates.push(job);
      }
    }
  }
  if (after) {
    const [c, id] = after;
    candidates = candidates.filter((j) => compareJobKey(j.cluster, j.id, c, id) > 0);
  }
  candidates.sort((a, b) => compareJobKey(a.cluster, a.id, b.cluster, b.id));
  const items = candidates.slice(0, limit);
  const last = items[items.length - 1];
  return { items, next_cursor: candidates.length > limit && last ? encodeCursor([last.cluster, last.id]) : undefined };
}

/** Whether a job has this value in a filter field: what the index would say. */
function jobHas(job: Job, field: JobFilterField, value: string): boolean {
  switch (field) {
    case 'node':
      return job.nodes.includes(value);
    case 'partition':
      // A pending job may name several partitions ("debug,batch"): indexed one by one.
      return job.partition.includes(',') ? job.partition.split(',').includes(value) : job.partition === value;
    default:
      return job[field] === value;
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

export function queryNodes(state: FleetState, filter: NodeFilter, limitIn?: number, cursor?: string): Page<Node> {
  const limit = checkLimit(limitIn);
  const after = cursor ? (decodeCursor(cursor) as [string, string]) : undefined;
  const wantState = filter.state?.toUpperCase();
  let nodes = state.list('node', filter.cluster || undefined).filter(
    (n) =>
      (!wantState || n.state === wantState || n.flags.includes(wantState)) &&
      (!filter.partition || n.partitions.includes(filter.partition)),
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
