// The `slurm` policy's effects, run by the region's leader inside the quota-enforcement
// singleton: read each cluster's associations through its agent (sacctmgr), write the limits in
// force, repair drift on the associations it owns, clear what is no longer in force, and leave
// hand-set limits alone unless the tenant says take_over. Ownership lives under the leader's
// fenced key and is stored before each write, so a new leader knows what the hub wrote even if
// the old one stopped between the two. Each write (or, in dry-run, each write it would make) is
// audited and is a fleet event; refusals and failures are reported once while they last.
import { randomUUID } from 'node:crypto';
import type { AssociationLimits, AssociationRequest, AssociationRow } from '../../shared/associations/index.js';
import type { Clock } from '../../shared/clock/index.js';
import type { Logger } from '../../shared/logging/index.js';
import type { AuditLog } from '../audit/index.js';
import type { CommandRouter } from '../commands/index.js';
import type { EventLog } from '../events/index.js';
import type { FleetState } from '../fleet/index.js';
import type { LeaderContext } from '../leader/index.js';
import { globMatch } from '../policy/index.js';
import type { Tenancy } from '../tenancy/index.js';
import { ENFORCER_USER } from './actor.js';
import { assocKey, desiredAssociations, planAssociations, type OwnedAssociation, type SlurmAction } from './slurm-plan.js';

const OWNED_KEY = 'quota-slurm-limits';

export interface SlurmLimitDeps {
  tenancy: Tenancy;
  state: FleetState;
  commands: Pick<CommandRouter, 'association'>;
  audit: Pick<AuditLog, 'record'>;
  events: Pick<EventLog, 'record'>;
  clock: Clock;
  logger: Logger;
}

/** What the policy did last, for `GET /api/v1/quotas` (the leader's view; other hubs have none). */
export interface SlurmLimitStatus {
  cluster: string;
  account: string;
  user: string;
  tenant: string;
  limits: AssociationLimits;
}

export class SlurmLimitEnforcer {
  private reported = new Set<string>();
  private lastOwned: OwnedAssociation[] = [];

  constructor(private readonly deps: SlurmLimitDeps) {}

  /** The limits the hub owns, as last stored. */
  status(): SlurmLimitStatus[] {
    return this.lastOwned.map((o) => ({ cluster: o.cluster, account: o.account, user: o.user, tenant: o.tenant, limits: { ...o.written } }));
  }

  async tick(ctx: LeaderContext): Promise<SlurmAction[]> {
    const { tenancy, state, clock } = this.deps;
    const saved = await ctx.get(OWNED_KEY);
    const owned = new Map((saved ? (JSON.parse(saved) as OwnedAssociation[]) : []).map((o) => [assocKey(o.cluster, o.account, o.user), o]));
    const slurmTenants = tenancy.names().filter((n) => tenancy.tenant(n)!.enforcement.policy === 'slurm');
    const clusters = [...state.clusters.keys()].filter((c) => [...owned.values()].some((o) => o.cluster === c) || slurmTenants.some((n) => tenancy.localClusters(n).some((g) => globMatch(g, c))));
    if (clusters.length === 0 && owned.size === 0) return [];
    const reported = new Set<string>();
    const rows = new Map<string, AssociationRow[]>();
    for (const cluster of clusters) {
      try {
        rows.set(cluster, await this.deps.commands.association(cluster, { op: 'list' }, ENFORCER_USER));
      } catch (err) {
        this.failOnce(reported, `list ${cluster}`, cluster, (err as Error).message);
      }
    }
    const desired = desiredAssociations(tenancy, [...state.clusters.keys()], rows, clock.now());
    const done: SlurmAction[] = [];
    for (const [cluster, list] of rows) {
      const mine = new Map([...owned].filter(([, o]) => o.cluster === cluster));
      const plan = planAssociations(cluster, desired.filter((d) => d.cluster === cluster), list, mine, (t) => tenancy.tenant(t)?.enforcement.slurm.take_over ?? false);
      const dryRun = (t: string): boolean => tenancy.tenant(t)?.enforcement.dry_run ?? false;
      // Ownership first (dry-run tenants own nothing): a write cut short is then repaired, never mistaken for a person's.
      for (const key of mine.keys()) owned.delete(key);
      for (const [key, o] of plan.owned) if (!dryRun(o.tenant)) owned.set(key, o);
      for (const [key, o] of mine) if (dryRun(o.tenant) && !plan.owned.has(key)) owned.set(key, o);
      ctx.assertLeading();
      await this.store(ctx, saved, owned);
      for (const action of plan.actions) {
        const id = `${action.kind} ${assocKey(cluster, action.account, action.user)} ${JSON.stringify(action.set)}`;
        if (action.kind === 'refuse' || action.kind === 'missing' || dryRun(action.tenant)) {
          reported.add(id);
          if (!this.reported.has(id)) await this.report(action, 'success', dryRun(action.tenant));
          done.push(action);
          continue;
        }
        ctx.assertLeading();
        const request: AssociationRequest = { op: 'set', account: action.account, user: action.user, set: action.set };
        try {
          await this.deps.commands.association(cluster, request, ENFORCER_USER);
        } catch (err) {
          reported.add(id);
          if (!this.reported.has(id)) await this.report(action, 'error', false, (err as Error).message);
          this.deps.logger.warn({ cluster, account: action.account, user: action.user, err: (err as Error).message }, 'writing association limits failed');
          continue;
        }
        await this.report(action, 'success', false);
        done.push(action);
      }
    }
    this.reported = reported;
    this.lastOwned = [...owned.values()];
    return done;
  }

  private async store(ctx: LeaderContext, saved: string | undefined, owned: Map<string, OwnedAssociation>): Promise<void> {
    const text = JSON.stringify([...owned.values()]);
    if (text !== saved && !(saved === undefined && owned.size === 0)) await ctx.put(OWNED_KEY, text);
  }

  private failOnce(reported: Set<string>, id: string, cluster: string, message: string): void {
    reported.add(id);
    if (this.reported.has(id)) return;
    this.deps.logger.warn({ cluster, err: message }, 'cannot read association limits');
  }

  private async report(action: SlurmAction, outcome: 'success' | 'error', dryRun: boolean, error?: string): Promise<void> {
    const who = action.user ? `user ${action.user} in account ${action.account}` : `account ${action.account}`;
    const limits = Object.entries(action.set).map(([k, v]) => `${k}=${v}`).join(' ');
    const what: Record<SlurmAction['kind'], string> = {
      set: 'set', repair: 'repaired (changed outside the hub)', take_over: 'took over hand-set limits', clear: 'cleared',
      refuse: 'left hand-set limits alone (take_over is off); would set', missing: 'no such association; would set',
    };
    const reason = `${dryRun ? 'dry run: would have ' : ''}${what[action.kind]}${outcome === 'error' ? ' (failed)' : ''} ${limits} on ${who}, cluster ${action.cluster}, tenant ${action.tenant}${error ? `: ${error}` : ''}`;
    await this.deps.audit.record({
      action: 'quota:slurm_limit',
      resource: `association ${action.cluster}/${action.account}${action.user ? `/${action.user}` : ''}`,
      outcome: outcome === 'error' || action.kind === 'refuse' || action.kind === 'missing' ? 'error' : 'success',
      reason,
      user: ENFORCER_USER,
      transport: 'internal',
      tenant: { cluster: action.cluster, account: action.account },
      required: true,
    });
    this.deps.events.record(action.cluster, [
      {
        id: randomUUID(),
        cluster: action.cluster,
        type: action.kind === 'refuse' || action.kind === 'missing' ? 'quota_slurm_refused' : 'quota_slurm_limit',
        severity: action.kind === 'refuse' || action.kind === 'missing' || action.kind === 'repair' || outcome === 'error' ? 'warning' : 'info',
        message: reason,
        occurred_at: new Date(this.deps.clock.now()).toISOString(),
        attributes: { tenant: action.tenant, account: action.account, user: action.user, action: action.kind, limits, dry_run: String(dryRun), outcome },
      },
    ]);
  }
}
