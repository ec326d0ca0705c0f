// An export cursor: opaque to clients (base64url JSON), it holds where the last export went and a
// fingerprint of its filter. It names no hub process: any hub of the group reads it.
// - history: the written_at mark up to which the last export went (the marks are the hubs'
//   clocks, so they must be NTP-synchronised);
// - jobs, nodes: per cluster the (epoch, seq) of the last delta the export included: every hub
//   of a group applies the same deltas under the same (epoch, seq);
// - events (v2): per source the position of the last event exported: a cluster's [epoch, seq] of
//   the delta that carried it (the same on every hub), `@<hub id>` [n] for events a hub made
//   itself; `through` is when the cursor was made (hub clock, ms), so a source first seen after it
//   whose events the log dropped is known to be missed. Version 1 held per cluster the newest
//   occurred_at: still read, and upgraded;
// - audit: per hub id the last seq exported of that hub's own chain.
import { createHash } from 'node:crypto';
import { BadRequestError } from '../../shared/errors/index.js';

export type CursorKind = 'history' | 'jobs' | 'nodes' | 'events' | 'audit';

/** Per cluster (or per hub, for audit) a position: [epoch, seq], [occurred_at ms] or [seq]. */
export type Positions = Record<string, number[]>;

export interface ExportCursor {
  kind: CursorKind;
  /** 1, or 2 for events whose positions are where events entered (1: occurred_at marks). */
  version?: 1 | 2;
  /** history: rows written after this mark (epoch ms) are new since the last export; events: when the cursor was made (0 before); 0 for the others. */
  through: number;
  /** sha256 of the filter the cursor was made with: a cursor is refused under another filter. */
  filter: string;
  /** jobs, nodes, events, audit: where the last export went. */
  positions?: Positions;
}

/** A cursor holds one position per cluster (about 50 bytes each); the hub's http.max_query (4 KiB by default) bounds it first. */
export const MAX_CURSOR_LENGTH = 16_384;
const CURSOR_RE = /^[A-Za-z0-9_-]+$/;

export function filterFingerprint(filter: Record<string, unknown>): string {
  const keys = Object.keys(filter).filter((k) => filter[k] !== undefined).sort();
  return createHash('sha256').update(JSON.stringify(keys.map((k) => [k, filter[k]]))).digest('base64url').slice(0, 22);
}

export function encodeCursor(c: ExportCursor): string {
  return Buffer.from(JSON.stringify({ v: c.version ?? 1, k: c.kind, t: c.through, f: c.filter, ...(c.positions ? { p: c.positions } : {}) })).toString('base64url');
}

const NOT_OURS = 'cursor: not a cursor this hub wrote (start without --cursor, or use the file the last export wrote)';

function positionsOf(p: unknown): Positions | undefined {
  if (p === undefined) return undefined;
  if (typeof p !== 'object' || p === null || Array.isArray(p)) throw new BadRequestError(NOT_OURS);
  const out: Positions = Object.create(null) as Positions;
  for (const [name, pos] of Object.entries(p as Record<string, unknown>)) {
    if (!Array.isArray(pos) || pos.length === 0 || pos.length > 2 || !pos.every((n) => Number.isSafeInteger(n) && (n as number) >= 0)) throw new BadRequestError(NOT_OURS);
    out[name] = pos as number[];
  }
  return out;
}

export function decodeCursor(text: string, kind: CursorKind, filter: string): ExportCursor {
  let parsed: { v?: unknown; k?: unknown; t?: unknown; f?: unknown; p?: unknown };
  try {
    if (text.length > MAX_CURSOR_LENGTH || !CURSOR_RE.test(text)) throw new Error('not base64url');
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as typeof parsed;
  } catch {
    throw new BadRequestError(NOT_OURS);
  }
  // Version 2 is of events only: a hub of an earlier version refuses it as not its own.
  if ((parsed.v !== 1 && !(parsed.v === 2 && kind === 'events')) || typeof parsed.t !== 'number' || !Number.isSafeInteger(parsed.t) || parsed.t < 0 || typeof parsed.f !== 'string') {
    throw new BadRequestError(NOT_OURS);
  }
  if (parsed.k !== kind) throw new BadRequestError(`cursor: made for an export of ${String(parsed.k)}, not of ${kind}`);
  if (parsed.f !== filter) throw new BadRequestError('cursor: made with other filters (--cluster, --user, --since...); an incremental export must keep the same filters');
  const positions = positionsOf(parsed.p);
  if (kind !== 'history' && !positions) throw new BadRequestError(NOT_OURS);
  return { kind, version: parsed.v, through: parsed.t, filter: parsed.f, ...(positions ? { positions } : {}) };
}
