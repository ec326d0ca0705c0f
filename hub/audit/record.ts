// What one audit record holds, and how its hash is computed. Records are JSON lines; every
// line carries the hash of the line before it (prev_hash) and its own hash over a canonical
// serialization (keys sorted, no whitespace), so editing, deleting or reordering breaks the chain.
import { createHash, createHmac } from 'node:crypto';

export type AuditLevel = 'None' | 'Metadata' | 'Request';
export const AUDIT_LEVELS: readonly AuditLevel[] = ['None', 'Metadata', 'Request'];

/** success: done; denied: authenticated but not allowed (403); failed: bad credentials or bad input (401, 4xx); error: the hub failed (5xx). */
export type AuditOutcome = 'success' | 'denied' | 'failed' | 'error';

/** What a caller reports; the log adds id, timestamp, level, hub_id and the chain fields. */
export interface AuditEvent {
  /** "resource:verb", e.g. jobs:cancel, auth:login, agent:connect. */
  action: string;
  /** What was acted on, e.g. "job prod-a/123"; empty when nothing in particular. */
  resource?: string;
  outcome: AuditOutcome;
  /** HTTP status (or the HTTP equivalent of a gRPC status). */
  status?: number;
  /** Why it was denied or failed: a safe error message, never a secret. */
  reason?: string;
  /** The authenticated (or, for a failed login, the claimed) user; null when unknown. */
  user?: string | null;
  auth_method?: string | null;
  source_ip?: string | null;
  request_id?: string | null;
  /** Cluster (and account) the action concerns, when known. */
  tenant?: { cluster?: string; account?: string } | null;
  /** http, grpc, agent (the agent stream) or internal (the hub itself). */
  transport?: 'http' | 'grpc' | 'agent' | 'internal';
  /** Recorded only at level Request, after redaction. */
  request?: Record<string, unknown>;
  /** Must be recorded whatever the rules say (mutations, denials, failed authentication). */
  required?: boolean;
}

export interface AuditRecord {
  type: 'record';
  seq: number;
  id: string;
  timestamp: string;
  level: Exclude<AuditLevel, 'None'>;
  hub_id: string;
  user: string | null;
  auth_method: string | null;
  action: string;
  resource: string;
  outcome: AuditOutcome;
  status: number | null;
  reason: string | null;
  source_ip: string | null;
  request_id: string | null;
  tenant: { cluster?: string; account?: string } | null;
  transport: string;
  request?: Record<string, unknown>;
  /** Only on the record retention writes before it deletes old files. */
  retention?: RetentionInfo;
  /** Only on the first record of a segment started because the file being written was lost. */
  break?: AuditBreak;
  /** A record the fallback directory took while the log could not be written, folded back in later. */
  fallback?: { folded_at: string };
  prev_hash: string;
  hash: string;
}

/** What a retention run deleted, and where the remaining chain now starts. */
export interface RetentionInfo {
  deleted: string[];
  cutoff: string;
  chain_starts_at: { file: string; anchor_hash: string };
}

/**
 * The file being written was deleted, truncated or replaced under the hub: what survived and
 * what was lost. The chain goes on in a new file whose anchor continues `last_good_hash`.
 */
export interface AuditBreak {
  file: string;
  how: 'deleted' | 'truncated' | 'replaced';
  /** Bytes of whole records the hub had written there that are gone. */
  lost_bytes: number;
  lost_records: number;
  /** The last line that survives (the end of the file before, when nothing of this one does). */
  last_good_seq: number;
  last_good_hash: string;
}

/** The first line of every file: chains the file to the last record of the file before it. */
export interface AuditAnchor {
  type: 'anchor';
  /** Sequence number the file's first record will get. */
  seq: number;
  timestamp: string;
  hub_id: string;
  file: string;
  /** The file this one continues; null for the very first file of a chain. */
  prev_file: string | null;
  prev_hash: string;
  /** "hmac-sha256": the lines of this file are hashed with a secret key (audit.hmac_key_*). */
  mac?: 'hmac-sha256';
  hash: string;
}

export type AuditLine = AuditRecord | AuditAnchor;

/** prev_hash of the very first anchor. */
export const GENESIS_HASH = '0'.repeat(64);

/** JSON with object keys sorted at every depth: one byte sequence per value. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** SHA-256 (or HMAC-SHA256 with the chain key) over the canonical serialization of everything but the hash itself. */
export function lineHash(line: Omit<AuditLine, 'hash'> & { hash?: string }, key?: Buffer): string {
  const { hash: _omit, ...rest } = line;
  return (key ? createHmac('sha256', key) : createHash('sha256')).update(canonicalJson(rest)).digest('hex');
}
