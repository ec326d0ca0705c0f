// What a Request-level record may keep of a request: secrets are replaced, whatever their
// key or shape, and big values are cut. The Authorization header is never recorded at all.
export const REDACTED = '[redacted]';

const SECRET_KEY = /pass(word|phrase)?|secret|token|totp|otp|^code$|authorization|api_?key|private_?key|credential|cookie|assertion|saml_?response|signature/i;
// Bearer-like values in any field: our API and session tokens, JWTs, long hex/base64 blobs.
const SECRET_VALUE = /^(sft_|sfs_)|^eyJ[\w-]*\.[\w-]*\.|^(Bearer|Basic|ApiKey)\s/i;
const MAX_STRING = 1024;
const MAX_DEPTH = 6;
const MAX_KEYS = 100;

export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') {
    if (SECRET_VALUE.test(value)) return REDACTED;
    return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…[${value.length - MAX_STRING} more chars]` : value;
  }
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[too deep]';
  if (Array.isArray(value)) return value.slice(0, MAX_KEYS).map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>).slice(0, MAX_KEYS)) {
    out[k] = SECRET_KEY.test(k) ? REDACTED : redact(v, depth + 1);
  }
  return out;
}
