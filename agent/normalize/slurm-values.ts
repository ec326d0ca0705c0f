// Reading slurmrestd values into the model's units. Every adapter uses these, so a value
// shape Slurm changed between versions (flat number vs {set, infinite, number}, string vs
// array states) is handled once here. Hot path: plain loops, no regex, no cloning.
import { SlurmResponseError } from '../../shared/errors/index.js';
import { expandHostlist, isoFromUnix } from '../../shared/model/index.js';

export type Rec = Record<string, unknown>;

/** Slurm's "not set" / "infinite" markers as they leak into flat (v0.0.38) JSON numbers. */
const NO_VAL = 0xfffffffe;
const INFINITE = 0xffffffff;
/** NO_VAL64 / INFINITE64 and anything that large is a marker, never a quantity. */
const HUGE = 2 ** 63;

/**
 * A non-negative Slurm quantity, or undefined when unset or infinite. Accepts both the flat
 * numbers of v0.0.38 (null = unset, -1/-2 and the uint32 markers = infinite/unset) and the
 * `{set, infinite, number}` objects of v0.0.39+.
 */
export function num(v: unknown): number | undefined {
  if (typeof v === 'number') {
    if (v < 0 || v === NO_VAL || v === INFINITE || v >= HUGE || v !== v) return undefined;
    return v;
  }
  if (v !== null && typeof v === 'object') {
    const o = v as { set?: unknown; infinite?: unknown; number?: unknown };
    if (o.set !== true || o.infinite === true) return undefined;
    return typeof o.number === 'number' ? num(o.number) : undefined;
  }
  return undefined;
}

/** Like num() but 0 counts as "not known" (memory 0, priority-less fields...). */
export function positive(v: unknown): number | undefined {
  const n = num(v);
  return n === undefined || n === 0 ? undefined : n;
}

/** Unix seconds (flat or object) to ISO-8601 UTC; 0/unset to undefined. */
export function iso(v: unknown): string | undefined {
  const n = num(v);
  // Whole seconds from 1970 to 9999 (every real Slurm time): formatted here, exactly as
  // isoFromUnix would, without a Date per value (it was most of a 8,000-job poll's normalize).
  if (n !== undefined && n > 0 && n <= MAX_FAST_SECONDS && Number.isInteger(n)) return isoSeconds(n);
  return isoFromUnix(n);
}

const MAX_FAST_SECONDS = 253_402_300_799; // 9999-12-31T23:59:59Z

/** "YYYY-MM-DDTHH:MM:SSZ" for whole seconds 0..MAX_FAST_SECONDS (days to civil date: H. Hinnant). */
export function isoSeconds(seconds: number): string {
  const days = Math.floor(seconds / 86_400);
  let rest = seconds - days * 86_400;
  const hour = Math.floor(rest / 3600);
  rest -= hour * 3600;
  const minute = Math.floor(rest / 60);
  const second = rest - minute * 60;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return `${year < 1000 ? String(year).padStart(4, '0') : year}-${two(month)}-${two(day)}T${two(hour)}:${two(minute)}:${two(second)}Z`;
}

function two(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

/** Slurm minutes (time limits) to seconds; unset/INFINITE to undefined. */
export function minutesToSeconds(v: unknown): number | undefined {
  const n = num(v);
  return n === undefined ? undefined : n * 60;
}

/** `v[key]` when v is an object. */
export function field(v: unknown, key: string): unknown {
  return v !== null && typeof v === 'object' ? (v as Rec)[key] : undefined;
}

/** A nested value (`limits.max.wall_clock.per.job`), undefined when any step is missing. */
export function path(v: unknown, ...keys: string[]): unknown {
  let cur = v;
  for (const k of keys) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Rec)[k];
  }
  return cur;
}

export function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** A comma-separated Slurm string ("a,b") or an array of strings, to a list of non-empty names. */
export function names(v: unknown): string[] {
  const out: string[] = [];
  if (typeof v === 'string') {
    if (v === '') return out;
    let start = 0;
    for (let i = 0; i <= v.length; i++) {
      if (i === v.length || v.charCodeAt(i) === 44 /* , */) {
        const part = v.slice(start, i).trim();
        if (part !== '' && part !== '(null)') out.push(part);
        start = i + 1;
      }
    }
    return out;
  }
  if (Array.isArray(v)) {
    for (const item of v) if (typeof item === 'string' && item !== '') out.push(item);
  }
  return out;
}

/** Upper-cased strings of an array (flag lists); anything else gives []. */
export function upperList(v: unknown): string[] {
  const out: string[] = [];
  if (Array.isArray(v)) for (const item of v) if (typeof item === 'string' && item !== '') out.push(item.toUpperCase());
  return out;
}

/** A hostlist to names; a hostlist we cannot read gives [] (node_list keeps the text). */
export function hosts(list: string): string[] {
  if (list === '') return [];
  try {
    return expandHostlist(list);
  } catch {
    return [];
  }
}

// ---- states -------------------------------------------------------------------------------

export const JOB_BASE_STATES: ReadonlySet<string> = new Set([
  'PENDING',
  'RUNNING',
  'SUSPENDED',
  'COMPLETED',
  'CANCELLED',
  'FAILED',
  'TIMEOUT',
  'NODE_FAIL',
  'PREEMPTED',
  'BOOT_FAIL',
  'DEADLINE',
  'OUT_OF_MEMORY',
]);

export const NODE_BASE_STATES: ReadonlySet<string> = new Set([
  'UNKNOWN',
  'DOWN',
  'IDLE',
  'ALLOCATED',
  'ERROR',
  'MIXED',
  'FUTURE',
]);

export interface SplitState {
  state: string;
  flags: string[];
}

/**
 * A state array (v0.0.39+ nodes, v0.0.40+ jobs: `["IDLE","DRAIN"]`) split into the base state
 * and the other flags. Without a base state in the array the first entry stands in.
 */
export function splitStateArray(v: unknown, bases: ReadonlySet<string>, fallback: string): SplitState {
  const flags: string[] = [];
  let state = '';
  if (Array.isArray(v)) {
    for (const item of v) {
      if (typeof item !== 'string' || item === '') continue;
      const up = item.toUpperCase();
      if (state === '' && bases.has(up)) state = up;
      else flags.push(up);
    }
  } else if (typeof v === 'string' && v !== '') {
    return splitStateArray(v.split('+'), bases, fallback);
  }
  if (state === '') {
    if (flags.length > 0) state = flags.shift() as string;
    else state = fallback;
  }
  return { state, flags };
}

/** Job state flags that Slurm only sets on a job that holds an allocation. */
const RUNNING_FLAGS: ReadonlySet<string> = new Set(['CONFIGURING', 'RESIZING']);

/**
 * The single job state string of v0.0.38/v0.0.39. Slurm's job_state_string() there returns
 * the first *flag* when one is set (COMPLETING, CONFIGURING, REQUEUED...) and hides the base.
 * CONFIGURING/RESIZING imply RUNNING; for the others the flag stands in as the state.
 */
export function splitJobStateString(v: unknown): SplitState {
  if (typeof v !== 'string' || v === '') return { state: 'UNKNOWN', flags: [] };
  const up = v.toUpperCase();
  if (JOB_BASE_STATES.has(up)) return { state: up, flags: [] };
  if (up.indexOf('+') >= 0) return splitStateArray(up.split('+'), JOB_BASE_STATES, 'UNKNOWN');
  if (RUNNING_FLAGS.has(up)) return { state: 'RUNNING', flags: [up] };
  return { state: up, flags: [up] };
}

// ---- exit codes ---------------------------------------------------------------------------

export interface ExitStatus {
  exit_code?: number;
  exit_signal?: number;
}

/**
 * A raw wait(2) status as v0.0.38/v0.0.39 give it (exit 3 -> 768, SIGTERM -> 15). Signalled:
 * exit_signal set and no exit code, as v0.0.40+ report it (return_code unset).
 */
export function decodeWaitStatus(v: unknown): ExitStatus {
  const raw = num(v);
  if (raw === undefined) return {};
  const sig = raw & 0x7f;
  if (sig !== 0) return { exit_signal: sig };
  return { exit_code: (raw >> 8) & 0xff };
}

/** The v0.0.40+ `{status, return_code, signal: {id, name}}` exit code object. */
export function decodeExitObject(v: unknown): ExitStatus {
  if (v === null || typeof v !== 'object') return decodeWaitStatus(v);
  const o = v as Rec;
  const out: ExitStatus = {};
  const rc = num(o.return_code);
  if (rc !== undefined) out.exit_code = rc;
  const sig = o.signal;
  if (sig !== null && typeof sig === 'object') {
    const id = num((sig as Rec).id);
    if (id !== undefined && id > 0) out.exit_signal = id;
  }
  return out;
}

// ---- response shape -----------------------------------------------------------------------

/**
 * The records array of a response body (`jobs`, `nodes`...). A body without it is an error,
 * unless Slurm explained itself in `errors`/`warnings` (a node lookup that found nothing
 * answers 200 with no `nodes` key at all in v0.0.40+).
 */
export function records(body: unknown, key: string, version: string, kind: string): unknown[] {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new SlurmResponseError(`slurmrestd ${version} ${kind} response is not a JSON object`);
  }
  const b = body as Rec;
  const list = b[key];
  if (Array.isArray(list)) return list;
  if (list === undefined && (nonEmpty(b.errors) || nonEmpty(b.warnings))) return [];
  throw new SlurmResponseError(`slurmrestd ${version} ${kind} response has no "${key}" list`);
}

function nonEmpty(v: unknown): boolean {
  return Array.isArray(v) && v.length > 0;
}

/** Throws the error an odd identity field deserves: version, kind and index named. */
export function badRecord(version: string, kind: string, index: number, why: string): never {
  throw new SlurmResponseError(`slurmrestd ${version} ${kind}[${index}]: ${why}`, { kind, index });
}

export function asRecord(v: unknown, version: string, kind: string, index: number): Rec {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) badRecord(version, kind, index, 'not an object');
  return v as Rec;
}

export function requireName(rec: Rec, field: string, version: string, kind: string, index: number): string {
  const v = rec[field];
  if (typeof v !== 'string' || v === '') badRecord(version, kind, index, `missing "${field}"`);
  return v;
}

/** `meta.slurm.release` (v0.0.40+) or `meta.Slurm.release` (v0.0.38/39). */
export function slurmRelease(body: unknown): string {
  if (body === null || typeof body !== 'object') return '';
  const meta = (body as Rec).meta;
  if (meta === null || typeof meta !== 'object') return '';
  const m = meta as Rec;
  const s = (m.slurm ?? m.Slurm) as Rec | undefined;
  if (s === null || typeof s !== 'object') return '';
  return str(s.release);
}
