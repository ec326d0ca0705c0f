// The built-in rules: each turns the fleet facts into the alerts that hold now. The evaluator
// adds `for:` and keep_firing_for; alerting.rules.<name> tunes or turns each off.
// `expression` is what the rule means, in the words of the docs and the closing note.
import { SIGNAL_RULES } from './builtin-signals.js';
import type { BuiltinRule } from './rule-context.js';

export type { BuiltinRule, Candidate, RuleContext, RuleTuning } from './rule-context.js';

const MIN = 60_000;

export const BUILTIN_RULES = {
  cluster_unreachable: {
    expression: 'the cluster has no connected agent (agent disconnected, on any hub of the region)',
    defaults: { for: 1 * MIN, severity: 'critical', threshold: 0, window: 0 },
    evaluate: (ctx) => ctx.clusters.filter((c) => !c.connected).map((c) => ({ labels: { cluster: c.name }, summary: `cluster ${c.name} unreachable: no agent connected` })),
  },
  cluster_expected_missing: {
    expression: "a cluster hub.yaml's clusters: map declares has never had an agent stream for it (once one has, cluster_unreachable covers it)",
    defaults: { for: 10 * MIN, severity: 'warning', threshold: 0, window: 0 },
    evaluate: (ctx) => {
      const heard = new Set(ctx.clusters.map((c) => c.name));
      return ctx.expected.filter((name) => !heard.has(name)).map((name) => ({ labels: { cluster: name }, summary: `cluster ${name} is declared in hub.yaml but no agent has streamed for it (sfleet config agent-for ${name} writes its agent's configuration)` }));
    },
  },
  controller_not_responding: {
    expression: 'a slurmctld the agent polls does not respond (controller.responding == false)',
    defaults: { for: 1 * MIN, severity: 'critical', threshold: 0, window: 0 },
    evaluate: (ctx) => ctx.controllers.filter((c) => !c.responding).map((c) => ({ labels: { cluster: c.cluster, controller: c.hostname }, summary: `slurmctld ${c.hostname} of ${c.cluster} not responding` })),
  },
  // The cluster-wide one: with no slurmctld answering, node, job and queue figures are frozen at
  // the last poll, so by default it mutes them (inhibit_rules); one page instead of many.
  cluster_controller_down: {
    expression: 'no slurmctld of a connected cluster responds (every controller the agent polls is down)',
    defaults: { for: 1 * MIN, severity: 'critical', threshold: 0, window: 0 },
    evaluate: (ctx) =>
      ctx.clusters
        .filter((c) => c.connected)
        .flatMap((c) => {
          const mine = ctx.controllers.filter((k) => k.cluster === c.name);
          if (mine.length === 0 || mine.some((k) => k.responding)) return [];
          return [{ labels: { cluster: c.name }, summary: `no slurmctld of ${c.name} responds (${mine.map((k) => k.hostname).join(', ')}): Slurm figures are frozen at the last poll` }];
        }),
  },
  node_down: {
    expression: 'node state DOWN or NOT_RESPONDING, not in a MAINT reservation, not drained by an admin with a reason',
    defaults: { for: 1 * MIN, severity: 'warning', threshold: 0, window: 0 },
    evaluate: (ctx) =>
      ctx.clusters.flatMap((c) =>
        c.downNodes.map((n) => ({ labels: { cluster: c.name, node: n.name }, summary: `node ${n.name} of ${c.name} is ${n.flags.includes('NOT_RESPONDING') ? 'not responding' : 'down'}${n.reason ? `: ${n.reason}` : ''}` })),
      ),
  },
  partition_nodes_unavailable: {
    expression: '(down + drained) / nodes of a partition >= threshold (default 0.25), maintenance nodes left out',
    defaults: { for: 5 * MIN, severity: 'critical', threshold: 0.25, window: 0 },
    evaluate: (ctx, t) =>
      ctx.clusters.flatMap((c) =>
        c.partitions
          .filter((p) => p.total > 0 && (p.down + p.drained) / p.total >= t.threshold)
          .map((p) => ({ labels: { cluster: c.name, partition: p.name }, summary: `${p.down + p.drained} of ${p.total} nodes of partition ${p.name} (${c.name}) are down or drained` })),
      ),
  },
  job_failure_burst: {
    expression: 'jobs ending FAILED, NODE_FAIL or BOOT_FAIL in the last `window` (10m) >= threshold (20), per cluster',
    defaults: { for: 0, severity: 'warning', threshold: 20, window: 10 * MIN },
    evaluate: (ctx, t) =>
      ctx.clusters.filter((c) => c.jobsFailedWindow >= t.threshold).map((c) => ({ labels: { cluster: c.name }, summary: `${c.jobsFailedWindow} jobs failed on ${c.name} within ${t.window / MIN} minutes` })),
  },
  queue_stall: {
    expression: 'startable pending jobs > 0 and idle nodes > 0 and no job started within `window` (15m)',
    defaults: { for: 5 * MIN, severity: 'warning', threshold: 0, window: 15 * MIN },
    evaluate: (ctx, t) =>
      ctx.clusters
        .filter((c) => c.connected && c.jobsStartable > 0 && c.idleNodes > 0 && ctx.now - c.lastStartMs >= t.window)
        .map((c) => ({ labels: { cluster: c.name }, summary: `${c.jobsStartable} jobs of ${c.name} could start on ${c.idleNodes} idle nodes, none started for ${Math.round((ctx.now - c.lastStartMs) / MIN)} minutes` })),
  },
  replication_stale: {
    expression: 'clustered: replication of a cluster from another hub is stale (hub/fleet/freshness.ts)',
    defaults: { for: 2 * MIN, severity: 'warning', threshold: 0, window: 0 },
    evaluate: (ctx) => [...ctx.stale].map(([cluster, why]) => ({ labels: { cluster }, summary: `replicated state of ${cluster} is stale: ${why}` })),
  },
  certificate_expiry: {
    expression: "a certificate of the hub expires within `window` (14d)",
    defaults: { for: 0, severity: 'warning', threshold: 0, window: 14 * 24 * 60 * MIN },
    evaluate: (ctx, t) =>
      ctx.certificates
        .filter((c) => c.notAfter - ctx.now <= t.window)
        .map((c) => ({ labels: { certificate: c.name }, summary: `certificate ${c.name} expires ${new Date(c.notAfter).toISOString()}` })),
  },
  ...SIGNAL_RULES,
} satisfies Record<string, BuiltinRule>;

export type BuiltinRuleName = keyof typeof BUILTIN_RULES;
