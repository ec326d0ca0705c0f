// Row filters: which objects of a resource a caller may see. A filter is a set of fields, each
// with the values allowed (all fields must match); a caller's filter for a permission is the
// union of the filters of the roles that grant it. A field narrows only the kinds that carry
// it: `account` narrows jobs, accounts and associations, not nodes; `cluster` narrows all.
// A value holding `*` or `?` is a glob (tenants name their accounts and clusters by globs).
import type { KindName } from '../../../shared/model/index.js';
import type { FilterField } from './config.js';

/**
 * One alternative: field -> allowed values. An empty list allows nothing. `region` appears only
 * in filters that cross regions (a global query's, forwarded to peers and applied to the merged
 * answer, whose items carry their region); an object without a region never passes it.
 */
export type FilterClause = Partial<Record<FilterField | 'region', string[]>>;

/** What a row filter looks at: a Slurm object kind, a fleet event, or a cluster's status row. */
export type RowKind = KindName | 'event' | 'cluster';

/** undefined: this object does not carry the field (it does not narrow it). */
type FieldReader = (o: Record<string, unknown>) => readonly string[] | undefined;
const one = (key: string): FieldReader => (o) => (typeof o[key] === 'string' ? [o[key] as string] : []);
const cluster = one('cluster');
const region = one('region');

const READERS: Record<RowKind, Partial<Record<FilterField | 'region', FieldReader>>> = {
  // A pending job may name several partitions ("debug,batch"): any of them.
  job: { region, cluster, account: one('account'), user: one('user'), partition: (o) => String(o.partition ?? '').split(',') },
  node: { region, cluster, partition: (o) => (Array.isArray(o.partitions) ? (o.partitions as string[]) : []) },
  partition: { region, cluster, partition: one('name') },
  account: { region, cluster, account: one('name') },
  association: { region, cluster, account: one('account'), user: one('user'), partition: one('partition') },
  reservation: { region, cluster },
  qos: { region, cluster },
  controller: { region, cluster },
  // An event about one account's jobs (quota enforcement) names it: other tenants of the cluster do not see it.
  event: { region, cluster, account: (o) => { const a = (o.attributes as Record<string, unknown> | undefined)?.account; return typeof a === 'string' ? [a] : undefined; } },
  cluster: { region, cluster: one('name') },
};

export class RowFilter {
  static readonly ALL = new RowFilter(undefined);
  static readonly NONE = new RowFilter([]);

  /** undefined: every row; otherwise the rows that match one of the clauses. */
  private constructor(readonly clauses: readonly FilterClause[] | undefined) {}

  static of(clauses: FilterClause[]): RowFilter {
    return clauses.some((c) => Object.keys(c).length === 0) ? RowFilter.ALL : new RowFilter(clauses);
  }

  get unrestricted(): boolean {
    return this.clauses === undefined;
  }

  allows(kind: RowKind, object: unknown): boolean {
    if (!this.clauses) return true;
    const readers = READERS[kind];
    const o = (object ?? {}) as Record<string, unknown>;
    return this.clauses.some((clause) => {
      for (const [field, allowed] of Object.entries(clause) as [FilterField | 'region', string[]][]) {
        const read = readers[field];
        if (!read) continue;
        const values = read(o);
        if (values === undefined) continue;
        if (!values.some((v) => valueAllowed(allowed, v))) return false;
      }
      return true;
    });
  }

  /** Rows both filters allow. */
  and(other: RowFilter): RowFilter {
    if (!other.clauses) return this;
    if (!this.clauses) return other;
    const out: FilterClause[] = [];
    for (const a of this.clauses) for (const b of other.clauses) out.push(intersectClauses(a, b));
    return new RowFilter(out);
  }

  /** When every clause fixes `field` to literal values, those values (union); undefined when any clause leaves it open or names a glob. */
  fixed(field: FilterField | 'region'): string[] | undefined {
    if (!this.clauses) return undefined;
    const out = new Set<string>();
    for (const c of this.clauses) {
      const v = c[field];
      if (!v || v.some(isGlob)) return undefined;
      for (const x of v) out.add(x);
    }
    return [...out];
  }

  toJSON(): FilterClause[] | null {
    return this.clauses ? this.clauses.map((c) => ({ ...c })) : null;
  }
}

/** AND of two clauses: a field in both keeps the values in both (a literal inside the other's glob; a glob only when both name it). */
export function intersectClauses(a: FilterClause, b: FilterClause): FilterClause {
  const out: FilterClause = { ...a };
  for (const [field, values] of Object.entries(b) as [FilterField | 'region', string[]][]) {
    const mine = out[field];
    if (!mine) {
      out[field] = [...values];
      continue;
    }
    const keep = new Set<string>();
    for (const v of mine) if (isGlob(v) ? values.includes(v) : valueAllowed(values, v)) keep.add(v);
    for (const v of values) if (!isGlob(v) && valueAllowed(mine, v)) keep.add(v);
    out[field] = [...keep];
  }
  return out;
}

export function isGlob(value: string): boolean {
  return value.includes('*') || value.includes('?');
}

const globs = new Map<string, RegExp>();

/** `*` any run of characters, `?` one; the rest literal. */
export function globMatch(glob: string, value: string): boolean {
  let re = globs.get(glob);
  if (!re) {
    re = new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's');
    if (globs.size > 10_000) globs.clear();
    globs.set(glob, re);
  }
  return re.test(value);
}

function valueAllowed(allowed: readonly string[], value: string): boolean {
  return allowed.some((a) => a === value || (isGlob(a) && globMatch(a, value)));
}
