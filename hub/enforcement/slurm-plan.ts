// The `slurm` policy's decision, apart from its effects: which association limits each cluster
// should carry now (tenant limits, schedules applied, on the tenant's association; account and
// user limits on theirs; each split across the tenant's clusters by share), and what to write so
// the associations carry them. The hub changes only limits it owns (recorded in its fenced state,
// written before each write): a limit set by hand is left alone, and reported, unless take_over.
import { LIMIT_KEYS, type AssociationLimits, type AssociationRow, type LimitKey } from '../../shared/associations/index.js';
import { globMatch } from '../policy/index.js';
import { scheduleAt } from '../quota/index.js';
import type { ResourceLimits, Tenancy } from '../tenancy/index.js';

const MIB = 1024 * 1024;

/** An association the hub wrote limits on: which keys, with which values. */
export interface OwnedAssociation {
  cluster: string;
  account: string;
  user: string;
  tenant: string;
  written: AssociationLimits;
}

export interface DesiredAssociation {
  cluster: string;
  account: string;
  user: string;
  tenant: string;
  limits: AssociationLimits;
}

export interface SlurmAction {
  /** set: a new or changed limit; repair: someone changed a limit the hub owns; take_over: hand-set limits overwritten (take_over: true); clear: limits no longer in force; refuse: hand-set limits left alone; missing: no such association. */
  kind: 'set' | 'repair' | 'take_over' | 'clear' | 'refuse' | 'missing';
  cluster: string;
  account: string;
  user: string;
  tenant: string;
  /** What is written ("-1" clears); for refuse, the limits the hub would have written. */
  set: AssociationLimits;
  /** What the association carried before. */
  current: AssociationLimits;
}

export const assocKey = (cluster: string, account: string, user: string): string => `${cluster}/${account}/${user}`;

/** `value` split across `clusters` by weight: floors, then the remainder to the largest fractions (ties by name), so the parts add up. */
export function splitByShares(value: number, clusters: readonly string[], shares: Readonly<Record<string, number>>): Map<string, number> {
  const sorted = [...clusters].sort();
  const weight = (c: string): number => Object.entries(shares).find(([g]) => globMatch(g, c))?.[1] ?? 1;
  const total = sorted.reduce((s, c) => s + weight(c), 0);
  const parts = sorted.map((c) => ({ c, exact: (value * weight(c)) / total }));
  const out = new Map(parts.map((p) => [p.c, Math.floor(p.exact)]));
  let left = value - [...out.values()].reduce((s, n) => s + n, 0);
  for (const p of [...parts].sort((a, b) => b.exact - Math.floor(b.exact) - (a.exact - Math.floor(a.exact)) || a.c.localeCompare(b.c))) {
    if (left <= 0) break;
    out.set(p.c, out.get(p.c)! + 1);
    left--;
  }
  return out;
}

/** Quota limits as association limits of one scope (user limits use the per-user job keys). */
export function toAssociationLimits(r: ResourceLimits, jobsAs: 'GrpSubmitJobs' | 'GrpJobs', scope: 'group' | 'user'): Map<LimitKey, number> {
  const out = new Map<LimitKey, number>();
  const jobsKey: LimitKey = scope === 'group' ? jobsAs : jobsAs === 'GrpJobs' ? 'MaxJobs' : 'MaxSubmitJobs';
  if (r.max_jobs !== undefined) out.set(jobsKey, r.max_jobs);
  if (r.max_cpus !== undefined) out.set('GrpTRES:cpu', r.max_cpus);
  if (r.max_nodes !== undefined) out.set('GrpTRES:node', r.max_nodes);
  if (r.max_gpus !== undefined) out.set('GrpTRES:gres/gpu', r.max_gpus);
  if (r.max_memory !== undefined) out.set('GrpTRES:mem', Math.floor(r.max_memory / MIB));
  return out;
}

/**
 * The limits every association of the `slurm` tenants should carry now. `clusters` are the
 * fleet's clusters and `rows` the associations their agents listed (clusters without a list are
 * left out: nothing is known of them).
 */
export function desiredAssociations(tenancy: Tenancy, clusters: readonly string[], rows: ReadonlyMap<string, readonly AssociationRow[]>, nowMs: number): DesiredAssociation[] {
  const out = new Map<string, DesiredAssociation>();
  const add = (cluster: string, account: string, user: string, tenant: string, limits: Map<LimitKey, number>, split: Map<string, Map<string, number>>): void => {
    if (limits.size === 0) return;
    const key = assocKey(cluster, account, user);
    const d = out.get(key) ?? { cluster, account, user, tenant, limits: {} };
    for (const [k, total] of limits) {
      const part = split.get(`${k}`)?.get(cluster) ?? total;
      const prior = d.limits[k];
      // Two scopes on one association (the tenant's account also matched by account_resources): the tighter wins.
      d.limits[k] = String(prior === undefined ? part : Math.min(Number(prior), part));
    }
    out.set(key, d);
  };
  for (const name of tenancy.names()) {
    const t = tenancy.tenant(name)!;
    if (t.enforcement.policy !== 'slurm') continue;
    const mine = clusters.filter((c) => tenancy.localClusters(name).some((g) => globMatch(g, c)));
    const splitAll = (limits: Map<LimitKey, number>): Map<string, Map<string, number>> =>
      new Map([...limits].map(([k, v]) => [`${k}`, splitByShares(v, mine, t.enforcement.slurm.shares)]));
    const tenantLimits = toAssociationLimits(scheduleAt(t.resources, t.schedules, nowMs).resources, t.enforcement.slurm.max_jobs_as, 'group');
    const tenantAccount = t.enforcement.slurm.account ?? t.accounts[0]!;
    const tenantSplit = splitAll(tenantLimits);
    const accountLimits = Object.entries(t.account_resources).map(([g, r]) => [g, toAssociationLimits(r, t.enforcement.slurm.max_jobs_as, 'group')] as const);
    const userLimits = Object.entries(t.user_resources).map(([g, r]) => [g, toAssociationLimits(r, t.enforcement.slurm.max_jobs_as, 'user')] as const);
    const accountSplits = accountLimits.map(([, l]) => splitAll(l));
    const userSplits = userLimits.map(([, l]) => splitAll(l));
    for (const cluster of mine) {
      const list = rows.get(cluster);
      if (!list) continue;
      add(cluster, tenantAccount, '', name, tenantLimits, tenantSplit);
      for (const row of list) {
        if (tenancy.tenantOf(cluster, row.account) !== name) continue;
        if (!row.user) accountLimits.forEach(([g, l], i) => globMatch(g, row.account) && add(cluster, row.account, '', name, l, accountSplits[i]!));
        else userLimits.forEach(([g, l], i) => globMatch(g, row.user) && add(cluster, row.account, row.user, name, l, userSplits[i]!));
      }
    }
  }
  return [...out.values()];
}

/**
 * What to write on one cluster, and the ownership afterwards (to be stored before writing).
 * `owned` holds this cluster's entries by assocKey.
 */
export function planAssociations(
  cluster: string,
  desired: readonly DesiredAssociation[],
  rows: readonly AssociationRow[],
  owned: ReadonlyMap<string, OwnedAssociation>,
  takeOver: (tenant: string) => boolean,
): { actions: SlurmAction[]; owned: Map<string, OwnedAssociation> } {
  const byKey = new Map(rows.map((r) => [assocKey(cluster, r.account, r.user), r]));
  const actions: SlurmAction[] = [];
  const next = new Map<string, OwnedAssociation>();
  const base = { cluster };
  const wanted = new Set<string>();
  for (const d of desired) {
    const key = assocKey(cluster, d.account, d.user);
    wanted.add(key);
    const row = byKey.get(key);
    const own = owned.get(key);
    if (!row) {
      actions.push({ kind: 'missing', ...base, account: d.account, user: d.user, tenant: d.tenant, set: d.limits, current: {} });
      if (own) next.set(key, own);
      continue;
    }
    const set: AssociationLimits = {};
    const refused: AssociationLimits = {};
    const written: AssociationLimits = {};
    let drift = false;
    let taken = false;
    for (const k of LIMIT_KEYS) {
      const want = d.limits[k];
      const mineBefore = own?.written[k];
      const cur = row.limits[k] ?? '';
      if (want === undefined) {
        // A limit this association no longer gets: cleared if it is still what the hub wrote.
        if (mineBefore !== undefined && cur === mineBefore) set[k] = '-1';
        continue;
      }
      if (mineBefore !== undefined) {
        written[k] = want;
        if (cur !== want) {
          if (cur !== mineBefore) drift = true;
          set[k] = want;
        }
      } else if (cur === '') {
        written[k] = want;
        set[k] = want;
      } else if (cur !== want) {
        if (takeOver(d.tenant)) {
          taken = true;
          written[k] = want;
          set[k] = want;
        } else refused[k] = want;
      }
      // A hand-set limit that happens to equal the wanted value stays the person's.
    }
    if (Object.keys(written).length) next.set(key, { cluster, account: d.account, user: d.user, tenant: d.tenant, written });
    if (Object.keys(refused).length) actions.push({ kind: 'refuse', ...base, account: d.account, user: d.user, tenant: d.tenant, set: refused, current: row.limits });
    if (Object.keys(set).length) {
      const clearsOnly = Object.entries(set).every(([k, v]) => v === '-1' && d.limits[k as LimitKey] === undefined);
      const kind = drift ? 'repair' : taken ? 'take_over' : clearsOnly ? 'clear' : 'set';
      actions.push({ kind, ...base, account: d.account, user: d.user, tenant: d.tenant, set, current: row.limits });
    }
  }
  for (const [key, own] of owned) {
    if (wanted.has(key)) continue;
    const row = byKey.get(key);
    if (!row) continue; // the association is gone, and our limits with it
    const set: AssociationLimits = {};
    for (const [k, v] of Object.entries(own.written)) if ((row.limits[k as LimitKey] ?? '') === v) set[k as LimitKey] = '-1';
    if (Object.keys(set).length) actions.push({ kind: 'clear', cluster, account: own.account, user: own.user, tenant: own.tenant, set, current: row.limits });
  }
  return { actions, owned: next };
}
