// Quota enforcement for jobs submitted straight to Slurm, run by the region's leader only (a
// singleton, fenced): for each tenant whose policy is `hold`, hold the newest pending jobs past a
// max_jobs limit through the cluster's agent and release them, and only them, when usage falls or
// a schedule raises the limit. The jobs it holds are kept under the leader's fenced key, so a new
// leader releases what the old one held. Every action (or, in dry-run, every action it would
// take) is audited and recorded as a fleet event.
import { randomUUID } from 'node:crypto';
import type { Job } from '../../shared/model/index.js';
import type { Clock } from '../../shared/clock/index.js';
import type { Logger } from '../../shared/logging/index.js';
import type { AuditLog } from '../audit/index.js';
import type { CommandRouter } from '../commands/index.js';
import type { EventLog } from '../events/index.js';
import type { FleetState } from '../fleet/index.js';
import { periodic, type LeaderContext, type Singleton } from '../leader/index.js';
import type { Tenancy } from '../tenancy/index.js';
import { ENFORCER_USER } from './actor.js';
import type { SlurmLimitEnforcer } from './slurm-limits.js';
import { jobKey, planHolds, pruneHeld, type HeldEntry, type HoldAction, type LimitHit } from './hold-plan.js';

const HELD_KEY = 'quota-holds';

export interface EnforcerDeps {
  tenancy: Tenancy;
  state: FleetState;
  commands: Pick<CommandRouter, 'run'>;
  audit: Pick<AuditLog, 'record'>;
  events: Pick<EventLog, 'record'>;
  clock: Clock;
  logger: Logger;
}

export class QuotaEnforcer {
  /** Actions reported once (dry runs, failures): not repeated every tick while nothing changes. */
  private reported = new Set<string>();
  private held: HeldEntry[] = [];

  constructor(private readonly deps: EnforcerDeps, private readonly opts: { intervalMs: number; slurmLimits?: SlurmLimitEnforcer }) {}

  singleton(): Singleton {
    return periodic('quota-enforcement', this.opts.intervalMs, async (ctx) => {
      // The two policies are independent: a failing hold pass does not stop the association limits.
      const holds = await this.tick(ctx).then(() => undefined, (err: unknown) => err);
      await this.opts.slurmLimits?.tick(ctx);
      if (holds) throw holds;
    });
  }

  /** The jobs this hub holds now (the leader's list; empty elsewhere). */
  heldCount(tenant: string): number {
    return this.held.filter((e) => e.tenant === tenant).length;
  }

  /** One pass over every tenant with policy hold; returns what it did (or would do). */
  async tick(ctx: LeaderContext): Promise<HoldAction[]> {
    const { tenancy, state, clock } = this.deps;
    const now = clock.now();
    const saved = await ctx.get(HELD_KEY);
    const jobOf = (e: HeldEntry): Job | undefined | null => {
      const record = state.clusters.get(e.cluster);
      return record ? [...record.objects.job.values()].find((j) => j.id === e.id) : null;
    };
    let held = pruneHeld(saved ? (JSON.parse(saved) as HeldEntry[]) : [], jobOf, now, 3 * this.opts.intervalMs + 10_000);
    const done: HoldAction[] = [];
    const reported = new Set<string>();
    for (const name of tenancy.names()) {
      const t = tenancy.tenant(name)!;
      if (t.enforcement.policy !== 'hold') continue;
      const jobs: Job[] = [];
      for (const [cluster, record] of state.clusters) {
        for (const job of record.objects.job.values()) if (tenancy.tenantOf(cluster, job.account) === name) jobs.push(job);
      }
      const ours = new Set(held.filter((e) => e.tenant === name).map((e) => jobKey(e.cluster, e.id)));
      for (const action of planHolds(name, t, jobs, ours, now)) {
        const key = `${action.kind} ${jobKey(action.job.cluster, action.job.id)}`;
        if (t.enforcement.dry_run) {
          reported.add(key);
          if (!this.reported.has(key)) await this.report(action, 'success', true);
          done.push(action);
          continue;
        }
        ctx.assertLeading();
        try {
          await this.deps.commands.run(action.job.cluster, action.kind, String(action.job.id), describe(action), ENFORCER_USER);
        } catch (err) {
          reported.add(key);
          if (!this.reported.has(key)) await this.report(action, 'error', false, (err as Error).message);
          this.deps.logger.warn({ tenant: name, cluster: action.job.cluster, job: action.job.id, err: (err as Error).message }, `quota ${action.kind} failed`);
          continue;
        }
        held = action.kind === 'hold' ? [...held, { cluster: action.job.cluster, id: action.job.id, tenant: name, held_at: now }] : held.filter((e) => jobKey(e.cluster, e.id) !== jobKey(action.job.cluster, action.job.id));
        await ctx.put(HELD_KEY, JSON.stringify(held));
        await this.report(action, 'success', false);
        done.push(action);
      }
    }
    this.reported = reported;
    this.held = held;
    if (saved !== JSON.stringify(held) && !(saved === undefined && held.length === 0)) await ctx.put(HELD_KEY, JSON.stringify(held));
    return done;
  }

  private async report(action: HoldAction, outcome: 'success' | 'error', dryRun: boolean, error?: string): Promise<void> {
    const { job, tenant, limit } = action;
    const what = `${dryRun ? 'dry run: would ' : ''}${action.kind}${outcome === 'error' ? ' failed' : ''}`;
    const reason = `${what}: ${describe(action)}${error ? `: ${error}` : ''}`;
    await this.deps.audit.record({
      action: `quota:${action.kind}`,
      resource: `job ${job.cluster}/${job.id}`,
      outcome,
      reason,
      user: ENFORCER_USER,
      transport: 'internal',
      tenant: { cluster: job.cluster, account: job.account },
      required: true,
    });
    this.deps.events.record(job.cluster, [
      {
        id: randomUUID(),
        cluster: job.cluster,
        type: `quota_${action.kind}`,
        severity: action.kind === 'hold' || outcome === 'error' ? 'warning' : 'info',
        message: `job ${job.id} ${reason}`,
        occurred_at: new Date(this.deps.clock.now()).toISOString(),
        attributes: {
          tenant,
          account: job.account,
          user: job.user,
          job_id: String(job.id),
          dry_run: String(dryRun),
          outcome,
          ...(limit ? { scope: limit.scope, subject: limit.subject, limit: limit.limit, value: String(limit.value), usage: String(limit.usage) } : {}),
        },
      },
    ]);
  }
}

const NOUN: Record<LimitHit['limit'], string> = { max_jobs: 'jobs', max_nodes: 'nodes', max_cpus: 'CPUs', max_gpus: 'GPUs', max_memory: 'bytes of memory' };

function describe(action: HoldAction): string {
  const l = action.limit;
  if (action.kind === 'hold') return `tenant ${action.tenant}: ${l!.scope} ${l!.subject} has ${l!.usage} ${NOUN[l!.limit]}, ${l!.limit} is ${l!.value}`;
  return `tenant ${action.tenant}: back within quota${l ? ` (${l.scope} ${l.subject}: ${l.usage} of ${l.limit} ${l.value})` : ''}`;
}
