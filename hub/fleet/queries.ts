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

export function queryJobs(state: FleetState, filter: JobFilter, limitIn?: number, cursor?: string): Page<Job> {
  const limit = checkLimit(limitIn);
  const after = cursor ? decodeCursor(cursor) : undefined;
  const active = JOB_FILTER_FIELDS.filter((f) => filter[f] !== undefined && filter[f] !== '');
  let candidates: Job[];
  if (active.length === 0) {
    candidates = state.list('job');
  } else {
    // Walk the smallest index, check the others.
    const sets = active.map((f) => ({ f, set: state.jobs.lookup(f, normalizeFilterValue(f, filter[f]!)) }));
    sets.sort((a, b) => a.set.size - b.set.size);
    const [smallest, ...rest] = sets;
    candidates = [];
    for (const key of smallest.set) {
      if (rest.every(({ set }) => set.has(key))) {
        const slash = key.indexOf('/');
        const job = state.job(key.slice(0, slash), key.slice(slash + 1));
        if (job) candidates.push(job);
      }
    }
  }
  if (after) {
    const [c, id] = after as [string, number];
    candidates = candidates.filter((j) => compareJobKey(j.cluster, j.id, c, id) > 0);
  }
  candidates.sort((a, b) => compareJobKey(a.cluster, a.id, b.cluster, b.id));
  const items = candidates.slice(0, limit);
  const last = items[items.length - 1];
  return { items, next_cursor: candidates.length > limit && last ? encodeCursor([last.cluster, last.id]) : undefined };
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
