// An export cursor: opaque to clients (base64url JSON), it holds the written_at mark up to which
// the last export went and a fingerprint of its filter. It names no hub: any hub of the group
// reads it (the marks are the hubs' clocks, so they must be NTP-synchronised).
import { createHash } from 'node:crypto';
import { BadRequestError } from '../../shared/errors/index.js';

export interface ExportCursor {
  kind: 'history';
  /** Rows written after this mark (epoch ms) are new since the last export. */
  through: number;
  /** sha256 of the filter the cursor was made with: a cursor is refused under another filter. */
  filter: string;
}

export function filterFingerprint(filter: Record<string, unknown>): string {
  const keys = Object.keys(filter).filter((k) => filter[k] !== undefined).sort();
  return createHash('sha256').update(JSON.stringify(keys.map((k) => [k, filter[k]]))).digest('base64url').slice(0, 22);
}

export function encodeCursor(c: ExportCursor): string {
  return Buffer.from(JSON.stringify({ v: 1, k: c.kind, t: c.through, f: c.filter })).toString('base64url');
}

export function decodeCursor(text: string, kind: ExportCursor['kind'], filter: string): ExportCursor {
  let parsed: { v?: unknown; k?: unknown; t?: unknown; f?: unknown };
  try {
    if (!/^[A-Za-z0-9_-]{1,512}$/.test(text)) throw new Error('not base64url');
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as typeof parsed;
  } catch {
    throw new BadRequestError('cursor: not a cursor this hub wrote (start without --cursor, or use the file the last export wrote)');
  }
  if (parsed.v !== 1 || typeof parsed.t !== 'number' || !Number.isSafeInteger(parsed.t) || parsed.t < 0 || typeof parsed.f !== 'string') {
    throw new BadRequestError('cursor: not a cursor this hub wrote (start without --cursor, or use the file the last export wrote)');
  }
  if (parsed.k !== kind) throw new BadRequestError(`cursor: made for an export of ${String(parsed.k)}, not of ${kind}`);
  if (parsed.f !== filter) throw new BadRequestError('cursor: made with other filters (--cluster, --user, --since...); an incremental export must keep the same filters');
  return { kind, through: parsed.t, filter: parsed.f };
}
