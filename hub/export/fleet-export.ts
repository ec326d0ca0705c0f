// `export jobs` and `export nodes`: what the hub holds now, under the caller's row filter (and a
// tenant's view of nodes), full or incremental. The rows are chosen when the request arrives (so
// the cursor in the answer's header matches them) and encoded as the body is read.
//
// Incremental (change-journal.ts): per cluster, the cursor holds the (epoch, seq) the last export
// went to. Objects changed after it are upserts; objects removed after it, and objects that
// changed and no longer match the export's filter (a job that left --state RUNNING), are deletes.
// A cluster the journal cannot answer for (the cursor is older than what this hub heard) makes
// the whole export refused (ExportCursorTooOldError): its deletes since are unknown, and a
// consumer given only changes would keep rows that are gone. The answer is a full export.
import type { FleetState } from '../fleet/index.js';
import { jobMatcher, type JobFilter } from '../fleet/index.js';
import type { RowFilter } from '../policy/index.js';
import type { Job, Node } from '../../shared/model/index.js';
import { BadRequestError } from '../../shared/errors/index.js';
import { comparePositions, type ChangeJournal, type JournalKind, type Position, type Removed } from './change-journal.js';
import { decodeCursor, encodeCursor, type Positions } from './cursor.js';
import { ExportCursorTooOldError } from './errors.js';
import type { ExportFormat } from './formats.js';
import { JOBS_SPEC, NODES_SPEC } from './kind-specs.js';
import type { RowSpec, SpecRow } from './row-spec.js';
import { batches, specBody, type SpecExport, type SpecExportDeps } from './spec-export.js';

export interface FleetExportFilter {
  cluster?: string;
  user?: string;
  account?: string;
  partition?: string;
  state?: string;
  /** jobs: submitted at or after (epoch ms). */
  since?: number;
  /** jobs: submitted before (epoch ms). */
  until?: number;
}

export interface FleetExportRequest {
  kind: 'jobs' | 'nodes';
  format: ExportFormat;
  filter: FleetExportFilter;
  fingerprint: string;
  /** The caller's row filter for this resource and verb. */
  rows: RowFilter;
  /** A tenant caller's view of a node (fields of other tenants removed); identity otherwise. */
  view?: (node: Node) => Node;
  cursor?: string;
}

export interface FleetExportDeps extends SpecExportDeps {
  state: FleetState;
  journal?: ChangeJournal;
}

const ms = (iso: string | undefined): number | null => {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
};

function jobRow(j: Job): SpecRow {
  return {
    op: 'upsert', cluster: j.cluster, id: j.id, array_job_id: j.array_job_id ?? null, array_task_id: j.array_task_id ?? null,
    array_task_string: j.array_task_string ?? null, het_job_id: j.het_job_id ?? null, het_job_offset: j.het_job_offset ?? null,
    name: j.name, user: j.user, account: j.account, partition: j.partition, qos: j.qos, state: j.state, state_flags: j.state_flags,
    state_reason: j.state_reason, nodes: j.nodes, node_list: j.node_list, submit_time: ms(j.submit_time), start_time: ms(j.start_time),
    end_time: ms(j.end_time), exit_code: j.exit_code ?? null, exit_signal: j.exit_signal ?? null, cpus: j.cpus, node_count: j.node_count,
    memory_mb: j.memory_mb ?? null, time_limit_s: j.time_limit_s ?? null, priority: j.priority ?? null, working_dir: j.working_dir,
    comment: j.comment, tres: j.tres,
  };
}

function nodeRow(n: Node): SpecRow {
  return {
    op: 'upsert', cluster: n.cluster, name: n.name, state: n.state, flags: n.flags, reason: n.reason, cpus: n.cpus, alloc_cpus: n.alloc_cpus,
    memory_mb: n.memory_mb, alloc_memory_mb: n.alloc_memory_mb, free_memory_mb: n.free_memory_mb ?? null, partitions: n.partitions,
    features: n.features, gres: n.gres, cpu_load: n.cpu_load ?? null, boot_time: ms(n.boot_time), last_busy: ms(n.last_busy),
    reason_set_by: n.reason_set_by, reason_time: ms(n.reason_time), address: n.address, hostname: n.hostname, slurm_version: n.slurm_version,
  };
}

/** A delete row: the key, every other column null. */
function deleteRow(spec: RowSpec, cluster: string, key: string | number): SpecRow {
  const row: SpecRow = { op: 'delete' };
  for (const c of spec.columns) row[c.name] = null;
  row.cluster = cluster;
  row[spec.columns[1].name] = key;
  return row;
}

type Item = { upsert: Job | Node } | { delete: string | number; cluster: string };

interface KindOps {
  journal: JournalKind;
  spec: RowSpec;
  /** Does the object match the export's filter (what the caller asked, not its row filter)? */
  matcher: (f: FleetExportFilter) => (o: Record<string, unknown>) => boolean;
  toRow: (o: Job | Node) => SpecRow;
}

const inWindow = (f: FleetExportFilter, submit: unknown): boolean => {
  if (f.since === undefined && f.until === undefined) return true;
  const t = typeof submit === 'string' ? Date.parse(submit) : NaN;
  return !Number.isNaN(t) && (f.since === undefined || t >= f.since) && (f.until === undefined || t < f.until);
};

const OPS: Record<'jobs' | 'nodes', KindOps> = {
  jobs: {
    journal: 'job',
    spec: JOBS_SPEC,
    matcher: (f) => {
      const m = jobMatcher({ user: f.user, account: f.account, partition: f.partition, state: f.state } as JobFilter);
      return (o) => m(o as unknown as Job) && inWindow(f, o.submit_time);
    },
    toRow: (o) => jobRow(o as Job),
  },
  nodes: {
    journal: 'node',
    spec: NODES_SPEC,
    matcher: (f) => {
      const state = f.state?.toUpperCase();
      return (o) => {
        const n = o as unknown as Node;
        return (!state || n.state === state || (n.flags ?? []).includes(state)) && (!f.partition || (n.partitions ?? []).includes(f.partition));
      };
    },
    toRow: (o) => nodeRow(o as Node),
  },
};

export async function exportFleet(deps: FleetExportDeps, req: FleetExportRequest): Promise<SpecExport> {
  if (req.kind === 'nodes' && (req.filter.since !== undefined || req.filter.until !== undefined || req.filter.user || req.filter.account)) {
    throw new BadRequestError('nodes have no time, user or account to filter by: use --cluster, --state or --partition (and --cursor for what changed)');
  }
  const ops = OPS[req.kind];
  const after: Positions | undefined = req.cursor === undefined ? undefined : decodeCursor(req.cursor, req.kind, req.fingerprint).positions;
  const matches = ops.matcher(req.filter);
  const rowKind = ops.journal;
  const visible = (o: unknown): boolean => req.rows.allows(rowKind, o);
  const items: Item[] = [];
  const tooOld: string[] = [];
  const positions: Positions = { ...(after ?? {}) };
  for (const record of deps.state.clusters.values()) {
    if (req.filter.cluster !== undefined && record.name !== req.filter.cluster) continue;
    const objects = record.objects[rowKind] as Map<string | number, Job | Node>;
    const now: Position = [record.epoch, record.seq];
    const from = after?.[record.name] as Position | undefined;
    // A hub behind the cursor (replication lag) has nothing newer: the cursor keeps its position.
    if (from && comparePositions(from, now) >= 0) continue;
    positions[record.name] = [...now];
    const changes = deps.journal ? deps.journal.since(record.name, rowKind, from) : 'all';
    if (changes === 'all') {
      if (from) tooOld.push(record.name);
      for (const o of objects.values()) if (visible(o) && matches(o as unknown as Record<string, unknown>)) items.push({ upsert: o });
      continue;
    }
    for (const key of changes.changed) {
      const o = objects.get(key);
      if (!o || !visible(o)) continue;
      // Changed and out of the filter: it may have been exported before (it left --state RUNNING).
      // Not for the submit window: a job's submit time does not change, so it never was.
      if (matches(o as unknown as Record<string, unknown>)) items.push({ upsert: o });
      else if (inWindow(req.filter, (o as Partial<Job>).submit_time)) items.push({ delete: key, cluster: record.name });
    }
    for (const r of changes.removed) if (tombstoneVisible(r, visible, req.filter)) items.push({ delete: r.key, cluster: record.name });
  }
  if (tooOld.length) throw new ExportCursorTooOldError(tooOld);
  const cursor = encodeCursor({ kind: req.kind, through: 0, filter: req.fingerprint, positions });
  const view = req.view ?? ((n: Node) => n);
  const row = (item: Item): SpecRow => {
    if ('upsert' in item) return ops.toRow(req.kind === 'nodes' ? view(item.upsert as Node) : item.upsert);
    return deleteRow(ops.spec, item.cluster, item.delete);
  };
  const { contentType, body } = await specBody(deps, ops.spec, req.format, () => batches(items, row));
  return { rows: items.length, cursor, contentType, body };
}

/** A removed object's delete goes to callers who could see it, under the filter's fixed fields (not its state). */
function tombstoneVisible(r: Removed, visible: (o: unknown) => boolean, f: FleetExportFilter): boolean {
  if (!visible(r.fields)) return false;
  const o = r.fields;
  if (f.user && o.user !== undefined && o.user !== f.user) return false;
  if (f.account && o.account !== undefined && o.account !== f.account) return false;
  return o.submit_time === undefined || inWindow(f, o.submit_time);
}
