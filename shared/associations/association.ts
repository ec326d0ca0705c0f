// Slurm association limits as the hub's `slurm` quota policy and the agent's sacctmgr speak
// them. A limit is one flat key (GrpTRES split into one key per TRES, so the hub can own
// `GrpTRES:cpu` without owning a person's `GrpTRES:mem`); the value is a whole number, "" for
// none, and "-1" in a request clears it. Both ends check a request with parseAssociationRequest:
// the agent runs sacctmgr with these values and trusts no hub with its arguments.

export const COUNT_KEYS = ['GrpJobs', 'GrpSubmitJobs', 'MaxJobs', 'MaxSubmitJobs'] as const;
/** The TRES the policy writes: memory in MB, as sacctmgr takes it. */
export const TRES_NAMES = ['cpu', 'node', 'mem', 'gres/gpu'] as const;
export type CountKey = (typeof COUNT_KEYS)[number];
export type TresName = (typeof TRES_NAMES)[number];
export type LimitKey = CountKey | `GrpTRES:${TresName}`;
export const LIMIT_KEYS: readonly LimitKey[] = [...COUNT_KEYS, ...TRES_NAMES.map((t) => `GrpTRES:${t}` as const)];

/** Limit key -> value ("" none). */
export type AssociationLimits = Partial<Record<LimitKey, string>>;

/** One association of the agent's cluster (partition-less ones only): user "" is the account's own. */
export interface AssociationRow {
  account: string;
  user: string;
  limits: AssociationLimits;
}

export type AssociationRequest = { op: 'list' } | { op: 'set'; account: string; user: string; set: AssociationLimits };

/** Slurm account and user names: what sacctmgr accepts, and nothing a command line could misread. */
const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;
const VALUE = /^(-1|\d{1,15})$/;

export class AssociationRequestError extends Error {}

/** Checks a request (JSON text or value); throws AssociationRequestError naming what is wrong. */
export function parseAssociationRequest(input: unknown): AssociationRequest {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch {
      throw new AssociationRequestError('association request is not JSON');
    }
  }
  const r = value as Record<string, unknown> | null;
  if (!r || typeof r !== 'object') throw new AssociationRequestError('association request must be an object');
  if (r.op === 'list') return { op: 'list' };
  if (r.op !== 'set') throw new AssociationRequestError(`association request: unknown op ${JSON.stringify(r.op)}`);
  if (typeof r.account !== 'string' || !NAME.test(r.account)) throw new AssociationRequestError(`association request: invalid account ${JSON.stringify(r.account)}`);
  const user = r.user ?? '';
  if (typeof user !== 'string' || (user !== '' && !NAME.test(user))) throw new AssociationRequestError(`association request: invalid user ${JSON.stringify(r.user)}`);
  const set = r.set as Record<string, unknown> | null;
  if (!set || typeof set !== 'object' || Object.keys(set).length === 0) throw new AssociationRequestError('association request: nothing to set');
  const out: AssociationLimits = {};
  for (const [key, v] of Object.entries(set)) {
    if (!LIMIT_KEYS.includes(key as LimitKey)) throw new AssociationRequestError(`association request: unknown limit ${JSON.stringify(key)}`);
    if (typeof v !== 'string' || !VALUE.test(v)) throw new AssociationRequestError(`association request: ${key} must be a whole number or -1, got ${JSON.stringify(v)}`);
    out[key as LimitKey] = v;
  }
  return { op: 'set', account: r.account, user, set: out };
}

const MEM_UNITS: Record<string, number> = { '': 1, K: 1 / 1024, M: 1, G: 1024, T: 1024 ** 2, P: 1024 ** 3 };

/** `cpu=8,mem=1000M,gres/gpu=2` -> GrpTRES:* keys (memory in MB); TRES the policy does not write are left out. */
export function parseTres(text: string): AssociationLimits {
  const out: AssociationLimits = {};
  for (const part of text.split(',')) {
    const m = /^([a-z/]+)=(\d+)([KMGTP]?)$/.exec(part.trim());
    if (!m || !TRES_NAMES.includes(m[1] as TresName)) continue;
    const n = Number(m[2]) * (m[1] === 'mem' ? (MEM_UNITS[m[3]] ?? 1) : 1);
    out[`GrpTRES:${m[1] as TresName}`] = String(Math.round(n));
  }
  return out;
}

/** sacctmgr's `set` arguments for a checked request: GrpTRES gathered into one argument. */
export function sacctmgrSetArgs(set: AssociationLimits): string[] {
  const args: string[] = [];
  const tres: string[] = [];
  for (const key of LIMIT_KEYS) {
    const v = set[key];
    if (v === undefined) continue;
    if (key.startsWith('GrpTRES:')) tres.push(`${key.slice('GrpTRES:'.length)}=${v}`);
    else args.push(`${key}=${v}`);
  }
  if (tres.length) args.push(`GrpTRES=${tres.join(',')}`);
  return args;
}
