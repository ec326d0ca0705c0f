// Short string fields on FleetService requests: every string of a request (cluster, job id,
// reason, cursor...) is a name or a short text, so one longer than `limits.api_string` bytes is
// refused before a handler, a lookup or the audit record sees it. The message itself is already
// bounded (limits.api_message); this keeps a 60 KiB "cluster name" out of maps, logs and errors.

/** The path of the first string longer than `maxBytes` in a decoded request ("reason", "filter.user"), or undefined. */
export function longStringField(message: unknown, maxBytes: number, path = '', depth = 0): string | undefined {
  if (typeof message === 'string') return Buffer.byteLength(message, 'utf8') > maxBytes ? path || '(message)' : undefined;
  if (typeof message !== 'object' || message === null || depth > 8) return undefined;
  const entries: [string, unknown][] = Array.isArray(message) ? message.map((v, i) => [String(i), v]) : Object.entries(message);
  for (const [key, value] of entries) {
    const found = longStringField(value, maxBytes, path ? `${path}.${key}` : key, depth + 1);
    if (found) return found;
  }
  return undefined;
}
