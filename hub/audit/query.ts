// Reads records back for GET /api/v1/audit: oldest first, filtered, paged by seq (the cursor is
// the last seq of the page). Files that cannot hold matches are skipped by their name's day and
// their anchor's first seq, so a query over 7 years of files reads only what it needs.
import type { AuditFiles } from './audit-files.js';
import { AUDIT_FILE_RE } from './audit-files.js';
import { dayOf } from './chain-writer.js';
import type { AuditLine, AuditOutcome, AuditRecord } from './record.js';

export interface AuditQuery {
  user?: string;
  action?: string;
  outcome?: AuditOutcome;
  resource?: string;
  /** Epoch ms, inclusive. */
  since?: number;
  /** Epoch ms, exclusive. */
  until?: number;
  limit: number;
  /** The seq after which to continue. */
  cursor?: number;
  /** The caller's tenant filter: applied before `limit`. */
  allow?: (record: AuditRecord) => boolean;
  /** A page also ends before its records pass this many bytes (default AUDIT_PAGE_BYTES). */
  maxBytes?: number;
}

/** A page of the audit query holds at most this much (records are at most 16 KiB each). */
export const AUDIT_PAGE_BYTES = 1024 * 1024;

export function firstSeq(files: AuditFiles, name: string): number {
  try {
    return (JSON.parse(files.firstLines(name, 1)[0] ?? '') as AuditLine).seq;
  } catch {
    return 0;
  }
}

/** "jobs:*" style: a trailing * matches any suffix. */
const matches = (pattern: string | undefined, value: string): boolean =>
  pattern === undefined || (pattern.endsWith('*') ? value.startsWith(pattern.slice(0, -1)) : value === pattern);

/** The records matching `q` after seq `q.cursor`, oldest first, with their line's length; each file read once. */
function* matching(files: AuditFiles, q: Omit<AuditQuery, 'limit' | 'maxBytes'>): Generator<[AuditRecord, number]> {
  const names = files.list();
  const sinceDay = q.since !== undefined ? dayOf(q.since) : undefined;
  const untilDay = q.until !== undefined ? dayOf(q.until) : undefined;
  for (const [i, name] of names.entries()) {
    const day = AUDIT_FILE_RE.exec(name)![1];
    // A file holds records of its day only (a new file starts each UTC day).
    if (sinceDay && day < sinceDay) continue;
    if (untilDay && day > untilDay) break;
    if (q.cursor !== undefined && names[i + 1] && firstSeq(files, names[i + 1]) <= q.cursor + 1) continue;
    for (const raw of files.lines(name)) {
      if (!raw) continue;
      let line: AuditLine;
      try {
        line = JSON.parse(raw) as AuditLine;
      } catch {
        continue;
      }
      if (line.type !== 'record') continue;
      if (q.cursor !== undefined && line.seq <= q.cursor) continue;
      // Parsed only when asked: an export without a time filter reads every record.
      const t = q.since !== undefined || q.until !== undefined ? Date.parse(line.timestamp) : 0;
      if (q.since !== undefined && t < q.since) continue;
      if (q.until !== undefined && t >= q.until) continue;
      if (q.user !== undefined && line.user !== q.user) continue;
      if (q.outcome !== undefined && line.outcome !== q.outcome) continue;
      if (!matches(q.action, line.action) || !matches(q.resource, line.resource)) continue;
      if (q.allow && !q.allow(line)) continue;
      yield [line, raw.length];
    }
  }
}

export function queryAudit(files: AuditFiles, q: AuditQuery): { items: AuditRecord[]; next_cursor: string | null } {
  const items: AuditRecord[] = [];
  const maxBytes = q.maxBytes ?? AUDIT_PAGE_BYTES;
  let bytes = 0;
  for (const [line, length] of matching(files, q)) {
    const full = items.length === q.limit || (items.length > 0 && bytes + length > maxBytes);
    if (full) return { items, next_cursor: String(items[items.length - 1].seq) };
    bytes += length;
    items.push(line);
  }
  return { items, next_cursor: null };
}

/**
 * Every record matching `q` after seq `q.cursor`, oldest first, unpaged: an export reads each file
 * once (paging through queryAudit would parse a file again for every page of it).
 */
export function* scanAudit(files: AuditFiles, q: Omit<AuditQuery, 'limit' | 'maxBytes'>): Generator<AuditRecord> {
  for (const [line] of matching(files, q)) yield line;
}
