// `export events` and `export audit`: append-only logs, so an incremental export sends only what
// was added (there is nothing to delete: events leave the hub's log only by its capacity, audit
// records only by retention, and neither is a change to the fleet).
// - events: the hub's event log under the caller's row filter (cluster, and an event's account);
//   --since/--until bound occurred_at. The cursor holds per source where the last event the
//   export saw entered (EventLog.positionOf: a delta's (epoch, seq), the same on every hub of a
//   group, or a hub's own count): an event that arrives later is after it, whatever its
//   occurred_at says, so none is skipped or sent twice. The log keeps the newest events only: a
//   cursor below the highest position the log dropped of a source it concerns is refused as too
//   old (what was dropped after it was never sent), never answered with a silent gap.
// - audit: this hub's own chain (each hub of a group writes its own), a tenant caller's records
//   about its tenant only; --since/--until bound the record's time. The cursor holds per hub id
//   the last seq exported, so one cursor file serves exports from every hub of a group in turn.
//   A cursor below the oldest record retention kept is refused as too old, like the events one.
import type { AuditLog, AuditRecord } from '../audit/index.js';
import { comparePositions as comparePosition, type EventLog, type EventPosition, type EventView } from '../events/index.js';
import { decodeCursor, encodeCursor, type ExportCursor, type Positions } from './cursor.js';
import { ExportCursorTooOldError } from './errors.js';
import type { ExportFormat } from './formats.js';
import { AUDIT_SPEC, EVENTS_SPEC } from './kind-specs.js';
import type { SpecRow } from './row-spec.js';
import { batches, BATCH_ROWS, specBody, type SpecExport, type SpecExportDeps } from './spec-export.js';

interface LogExportRequest {
  format: ExportFormat;
  fingerprint: string;
  /** epoch ms, inclusive */
  since?: number;
  /** epoch ms, exclusive */
  until?: number;
  cursor?: string;
}

export interface EventExportRequest extends LogExportRequest {
  cluster?: string;
  types?: readonly string[];
  /** The caller's row filter; absent: every event. */
  allow?: (event: EventView) => boolean;
  /** This hub's clock (ms): when the cursor is made. */
  now?: number;
}

export interface AuditExportRequest extends LogExportRequest {
  user?: string;
  action?: string;
  /** A tenant caller's filter; absent: every record. */
  allow?: (record: AuditRecord) => boolean;
}

const eventRow = (e: EventView): SpecRow => ({
  op: 'upsert', id: e.id, cluster: e.cluster, type: e.type, severity: e.severity, message: e.message,
  occurred_at: Date.parse(e.occurred_at), received_at: Date.parse(e.received_at), attributes: e.attributes,
});

/**
 * Is `e` new since the cursor? Version 2: entered after the cursor's position for its source (an
 * event an earlier version recorded has no position: it was there when any v2 cursor was made).
 * Version 1 (occurred_at marks, upgraded on its first use): occurred at or after the cluster's mark,
 * so an event of that same millisecond that arrived after the old export is not lost; the ones
 * the old export sent come once more, with the same ids.
 */
function isNew(e: EventView, pos: EventPosition | undefined, cursor: ExportCursor | undefined): boolean {
  if (!cursor?.positions) return true;
  if (cursor.version !== 2) {
    const mark = cursor.positions[e.cluster]?.[0];
    return mark === undefined || Date.parse(e.occurred_at) >= mark;
  }
  if (!pos) return false;
  const after = cursor.positions[pos.source];
  return after === undefined || comparePosition(pos.at, after) > 0;
}

/**
 * The sources whose dropped events a version 2 cursor missed: the log dropped a position above the
 * cursor's, or, for a source the cursor does not name, an event that arrived after the cursor was
 * made (`through`; 0 in cursors of earlier versions, which are not checked for such sources).
 * Only sources whose dropped events were about a cluster the export covers count.
 */
function missed(log: EventLog, cursor: ExportCursor, req: EventExportRequest): string[] {
  const out: string[] = [];
  for (const [source, d] of log.evicted()) {
    const about = [...d.clusters].filter((c) => req.cluster === undefined || c === req.cluster);
    if (about.length === 0) continue;
    const at = cursor.positions?.[source];
    if (at !== undefined) {
      if (comparePosition(at, d.at) < 0) out.push(source);
      continue;
    }
    // A source new since the cursor: only what the caller could have seen of it counts.
    const seen = !req.allow || about.some((cluster) => req.allow!({ cluster, attributes: {} } as unknown as EventView));
    if (cursor.through > 0 && d.receivedMs > cursor.through && seen) out.push(source);
  }
  return out;
}

export async function exportEvents(deps: SpecExportDeps & { events?: EventLog }, req: EventExportRequest): Promise<SpecExport> {
  const after = req.cursor === undefined ? undefined : decodeCursor(req.cursor, 'events', req.fingerprint);
  const made = req.now ?? Date.now();
  if (after?.version === 2 && deps.events) {
    const gone = missed(deps.events, after, req);
    if (gone.length) throw new ExportCursorTooOldError(gone, 'events');
  }
  // The next cursor: every source's last position this export went past (sent, of another type,
  // outside its window, or hidden from the caller in a source it already follows), so a type
  // filter or another tenant's events do not hold it back below what the log may drop later.
  const positions: Positions = { ...(after?.version === 2 ? after.positions : {}) };
  const types = req.types?.length ? new Set(req.types) : undefined;
  const picked: EventView[] = [];
  for (const e of deps.events?.list({ cluster: req.cluster }) ?? []) {
    const pos = deps.events?.positionOf(e);
    const visible = !req.allow || req.allow(e);
    const fresh = isNew(e, pos, after);
    if (pos && (visible || positions[pos.source] !== undefined) && (positions[pos.source] === undefined || comparePosition(pos.at, positions[pos.source]) > 0)) {
      positions[pos.source] = [...pos.at];
    }
    if (!fresh || !visible || (types && !types.has(e.type))) continue;
    const t = Date.parse(e.occurred_at);
    if (req.since !== undefined && t < req.since) continue;
    if (req.until !== undefined && t >= req.until) continue;
    picked.push(e);
  }
  const cursor = encodeCursor({ kind: 'events', version: 2, through: made, filter: req.fingerprint, positions });
  const { contentType, body } = await specBody(deps, EVENTS_SPEC, req.format, () => batches(picked, eventRow));
  return { rows: picked.length, cursor, contentType, body };
}

const auditRow = (r: AuditRecord): SpecRow => ({
  op: 'upsert', hub_id: r.hub_id, seq: r.seq, id: r.id, timestamp: Date.parse(r.timestamp), level: r.level, user: r.user,
  auth_method: r.auth_method, action: r.action, resource: r.resource, outcome: r.outcome, status: r.status, reason: r.reason,
  source_ip: r.source_ip, request_id: r.request_id, tenant_cluster: r.tenant?.cluster ?? null, tenant_account: r.tenant?.account ?? null,
  transport: r.transport, prev_hash: r.prev_hash, hash: r.hash,
});

/** This hub's records after seq `from` up to seq `through`, in batches; each audit file is read once. */
function* auditPages(audit: AuditLog, req: AuditExportRequest, from: number, through: number): Generator<AuditRecord[]> {
  let batch: AuditRecord[] = [];
  for (const r of audit.scan({ user: req.user, action: req.action, since: req.since, until: req.until, ...(from > 0 ? { cursor: from } : {}), ...(req.allow ? { allow: req.allow } : {}) })) {
    if (r.seq > through) break;
    batch.push(r);
    if (batch.length >= BATCH_ROWS) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

export async function exportAudit(deps: SpecExportDeps & { audit: AuditLog }, req: AuditExportRequest): Promise<SpecExport> {
  const after = req.cursor === undefined ? undefined : decodeCursor(req.cursor, 'audit', req.fingerprint).positions;
  const hub = deps.audit.hubId;
  const from = after?.[hub]?.[0] ?? 0;
  // Retention removed whole files after this cursor's position: those records were never exported
  // and a changes-only answer would skip them silently. (A cursor that does not name this hub
  // starts at its oldest record: a full export would not hold the removed ones either.)
  const first = after?.[hub] !== undefined ? deps.audit.firstKeptSeq() : undefined;
  if (first !== undefined && first > from + 1) throw new ExportCursorTooOldError([hub], 'audit');
  // Records written while this export runs (its own record among them) go to the next one.
  const through = Math.max(from, deps.audit.writer.lastSeq);
  let rows = 0;
  for (const page of auditPages(deps.audit, req, from, through)) rows += page.length;
  const cursor = encodeCursor({ kind: 'audit', through: 0, filter: req.fingerprint, positions: { ...(after ?? {}), [hub]: [through] } });
  async function* pages(): AsyncGenerator<SpecRow[]> {
    for (const page of auditPages(deps.audit, req, from, through)) yield page.map(auditRow);
  }
  const { contentType, body } = await specBody(deps, AUDIT_SPEC, req.format, pages);
  return { rows, cursor, contentType, body };
}
