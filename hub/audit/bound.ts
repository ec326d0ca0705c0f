// Bounds on what a caller can make one audit record cost. Every caller-supplied field is cut to
// a prefix plus a hash of the whole (so two long values still tell apart and a search for the
// prefix still finds them), the request body to a byte budget, and so the whole record stays
// under MAX_RECORD_BYTES whatever the caller sent (issue 12: bounded before trusted).
import { createHash } from 'node:crypto';
import type { AuditEvent } from './record.js';

/** The most one serialized record may take. */
export const MAX_RECORD_BYTES = 16 * 1024;
/** One caller-supplied field (user, resource, reason...). */
export const MAX_FIELD_CHARS = 512;
/** The request body kept at level Request, serialized. */
export const MAX_REQUEST_BYTES = 8 * 1024;

/** `value` itself when short, else its first chars, then "…[sha256:<16 hex> of <n> chars]". */
export function capField(value: string, max = MAX_FIELD_CHARS): string {
  if (value.length <= max) return value;
  const hash = createHash('sha256').update(value).digest('hex').slice(0, 16);
  const tail = `…[sha256:${hash} of ${value.length} chars]`;
  return `${value.slice(0, Math.max(0, max - tail.length))}${tail}`;
}

const cap = (v: string | null | undefined, max?: number): string | null | undefined => (typeof v === 'string' ? capField(v, max) : v);

/** The event with every caller-supplied field capped (before the level rules and redaction). */
export function boundEvent(event: AuditEvent): AuditEvent {
  return {
    ...event,
    action: capField(event.action, 128),
    resource: cap(event.resource) ?? undefined,
    reason: cap(event.reason) ?? undefined,
    user: cap(event.user, 256),
    auth_method: cap(event.auth_method, 32),
    source_ip: cap(event.source_ip, 64),
    request_id: cap(event.request_id, 128),
    tenant: event.tenant ? { ...(event.tenant.cluster !== undefined ? { cluster: capField(event.tenant.cluster, 128) } : {}), ...(event.tenant.account !== undefined ? { account: capField(event.tenant.account, 128) } : {}) } : event.tenant,
  };
}

/** A redacted request body, or a summary of it when its serialization is over budget. */
export function boundRequest(request: Record<string, unknown>): Record<string, unknown> {
  const text = JSON.stringify(request);
  if (Buffer.byteLength(text) <= MAX_REQUEST_BYTES) return request;
  return { truncated: true, bytes: Buffer.byteLength(text), sha256: createHash('sha256').update(text).digest('hex'), keys: Object.keys(request).slice(0, 20).map((k) => capField(k, 64)) };
}
