// Classifies one raw slurmrestd HTTP answer before any adapter sees it. What real releases send
// (../shared/slurm/recorded, MEASUREMENTS.md):
// - 304 with no body when `update_time` says nothing changed;
// - 200 JSON whose `errors` may hold entries that are not errors ("No error", error_number 0,
//   or only a description in v0.0.39) next to `warnings`;
// - auth: 401 text/plain (no or bad headers, 23.11..25.05), 500 text/plain "Authentication does
//   not apply to request" (25.11), JSON error 1007 "Protocol authentication error" with 500
//   (23.11/24.05) or 511 (24.11+);
// - unknown endpoint: 404 text/plain; unknown job: 404 JSON error 2017 (500 + 2017 on 22.05).
// Messages never repeat a request header or a response body beyond Slurm's own error text.
import { NotFoundError, SlurmResponseError, SlurmUnavailableError } from '../../shared/errors/index.js';

export type ParsedResponse = { unchanged: true } | { unchanged: false; body: unknown };

const AUTH_FAILED = 1007;
const INVALID_JOB_ID = 2017;

interface SlurmError {
  number?: number;
  text: string;
  description: string;
}

export function parseSlurmResponse(
  status: number,
  contentType: string | undefined,
  text: string,
  what: string,
): ParsedResponse {
  if (status === 304) return { unchanged: true };
  const ok = status >= 200 && status < 300;
  const looksJson = contentType ? contentType.toLowerCase().includes('json') : startsLikeJson(text);

  let body: unknown;
  let parsed = false;
  if (looksJson && text.length > 0) {
    try {
      body = JSON.parse(text);
      parsed = true;
    } catch (err) {
      if (ok) throw malformed(what, text, err);
    }
  }

  if (ok) {
    if (!parsed) {
      if (text.length === 0) throw new SlurmResponseError(`slurmrestd sent an empty body for ${what} (HTTP ${status})`);
      throw new SlurmResponseError(
        `slurmrestd sent ${contentType ? `"${shortType(contentType)}"` : 'non-JSON text'} for ${what}, expected JSON (HTTP ${status})`,
      );
    }
    return checkSlurmAnswer(status, body, what);
  }

  const errors = parsed ? realErrors(body) : [];
  throwKnownErrors(errors, what, status);

  const slurmText = errors.length > 0 ? `: ${summarize(errors)}` : '';
  if (status === 401 || status === 511) throw authFailed(what, status);
  if (status === 403) throw new SlurmUnavailableError(`slurmrestd refused access to ${what} (HTTP 403)${slurmText}`, status);
  if (status === 404) {
    if (errors.length > 0) throw new NotFoundError(`${what}: not found${slurmText}`);
    throw new NotFoundError(`${what}: slurmrestd has no such endpoint (HTTP 404); is this API version enabled?`);
  }
  if (status >= 500) {
    if (!parsed && mentionsAuthentication(text)) throw authFailed(what, status);
    throw new SlurmUnavailableError(`slurmrestd failed to answer ${what} (HTTP ${status})${slurmText}`, status);
  }
  throw new SlurmResponseError(`slurmrestd rejected the request for ${what} (HTTP ${status})${slurmText}`, { upstream_status: status });
}

/**
 * The checks of a 2xx answer already parsed (by parseSlurmResponse, or by list-stream.ts
 * from everything around a streamed list): an object, and no real `errors`.
 */
export function checkSlurmAnswer(status: number, body: unknown, what: string): ParsedResponse {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new SlurmResponseError(`slurmrestd answer for ${what} is not a JSON object (HTTP ${status})`);
  }
  const errors = realErrors(body);
  throwKnownErrors(errors, what, status);
  if (errors.length > 0) throw new SlurmResponseError(`slurmrestd reported an error for ${what}: ${summarize(errors)}`);
  return { unchanged: false, body };
}

/** Authentication failures and unknown jobs, whatever the HTTP status. */
function throwKnownErrors(errors: SlurmError[], what: string, status: number): void {
  for (const e of errors) {
    if (e.number === AUTH_FAILED || e.text === 'Protocol authentication error') throw authFailed(what, status);
  }
  for (const e of errors) {
    if (e.number === INVALID_JOB_ID || e.text.startsWith('Invalid job id')) {
      throw new NotFoundError(`${what}: Slurm does not know this job (${describe(e)})`);
    }
  }
}

/** The refusals of the agent's credentials: slurmctld may be fine (not a controller outage). */
const authRefusals = new WeakSet<Error>();

export function isSlurmAuthRefusal(err: unknown): boolean {
  return err instanceof Error && authRefusals.has(err);
}

function authFailed(what: string, status: number): SlurmUnavailableError {
  const err = new SlurmUnavailableError(`slurmrestd authentication failed for ${what} (HTTP ${status}): check the JWT user name and token`, status);
  authRefusals.add(err);
  return err;
}

function startsLikeJson(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) continue;
    return c === 123 /* { */ || c === 91 /* [ */;
  }
  return false;
}

function shortType(contentType: string): string {
  const semi = contentType.indexOf(';');
  return (semi >= 0 ? contentType.slice(0, semi) : contentType).trim().slice(0, 60);
}

/** A body-free message: the position and whether the text simply ended (truncated). */
function malformed(what: string, text: string, err: unknown): SlurmResponseError {
  const message = err instanceof Error ? err.message : '';
  let position = text.length;
  const at = message.lastIndexOf('position ');
  if (at >= 0) {
    const n = Number.parseInt(message.slice(at + 9), 10);
    if (Number.isFinite(n)) position = n;
  }
  const truncated = position >= text.trimEnd().length || message.includes('end of JSON');
  return new SlurmResponseError(
    `slurmrestd sent ${truncated ? 'truncated' : 'malformed'} JSON for ${what} at position ${position} of ${text.length}`,
    { position, length: text.length },
  );
}

/** Entries of `errors` that are real errors: not "No error", not error_number 0 without text. */
function realErrors(body: unknown): SlurmError[] {
  if (body === null || typeof body !== 'object') return [];
  const list = (body as Record<string, unknown>).errors;
  if (!Array.isArray(list) || list.length === 0) return [];
  const out: SlurmError[] = [];
  for (const item of list) {
    if (item === null || typeof item !== 'object') continue;
    const e = item as Record<string, unknown>;
    const raw = typeof e.error_number === 'number' ? e.error_number : typeof e.errno === 'number' ? e.errno : undefined;
    const text = typeof e.error === 'string' ? e.error : '';
    const description = typeof e.description === 'string' ? e.description : '';
    const isError = (raw !== undefined && raw !== 0) || (text !== '' && text !== 'No error');
    if (isError) out.push({ number: raw, text, description });
  }
  return out;
}

function describe(e: SlurmError): string {
  let s = e.text !== '' ? e.text : 'error';
  if (e.number !== undefined) s += ` [${e.number}]`;
  if (e.description !== '' && e.description !== e.text) s += `: ${e.description}`;
  return s.length > 200 ? `${s.slice(0, 197)}...` : s;
}

function summarize(errors: SlurmError[]): string {
  const first = describe(errors[0]);
  return errors.length > 1 ? `${first} (and ${errors.length - 1} more)` : first;
}

function mentionsAuthentication(text: string): boolean {
  return text.slice(0, 300).toLowerCase().includes('authentic');
}
