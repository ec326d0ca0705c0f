// The built-in rules over what the hub hears besides the Slurm objects: the agents' heartbeat
// reports, the controllers' diag figures, failed jobs per node, partition and user, and the
// hub's own dependencies. Same contract as builtin.ts, whose table includes these.
import type { BuiltinRule } from './rule-context.js';

const MIN = 60_000;

/** Numeric segments first ("1.10.0" > "1.9.3"), then text; '' sorts lowest. */
function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+-]/), pb = b.split(/[.+-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '', y = pb[i] ?? '';
    const nx = Number(x), ny = Number(y);
    const d = x !== '' && y !== '' && Number.isFinite(nx) && Number.isFinite(ny) ? nx - ny : x.localeCompare(y);
    if (d) return d;
  }
  return 0;
}

export const SIGNAL_RULES = {
  agent_lagging: {
    expression: 'a polling agent whose last poll is older than `window` (2m), or whose spool holds >= threshold (1000) unacknowledged deltas',
    defaults: { for: 1 * MIN, severity: 'warning', threshold: 1000, window: 2 * MIN },
    evaluate: (ctx, t) =>
      ctx.agents
        .filter((a) => a.polling && ((a.lastPollMs !== undefined && ctx.now - a.lastPollMs > t.window) || a.spoolDeltas >= t.threshold))
        .map((a) => ({ labels: { cluster: a.cluster, agent: a.agent }, summary: `agent ${a.agent} of ${a.cluster} lags: ${a.spoolDeltas >= t.threshold ? `${a.spoolDeltas} deltas not acknowledged` : `last poll ${Math.round((ctx.now - a.lastPollMs!) / 1000)} s ago`}` })),
  },
  slurm_poll_errors: {
    expression: 'poll failures + Slurm read errors (slurmrestd, slurmdbd) an agent reports rose by >= threshold (3) within `window` (5m)',
    defaults: { for: 0, severity: 'warning', threshold: 3, window: 5 * MIN },
    evaluate: (ctx, t) =>
      ctx.agents.filter((a) => a.errorsInWindow >= t.threshold).map((a) => ({ labels: { cluster: a.cluster, agent: a.agent }, summary: `agent ${a.agent} of ${a.cluster}: ${a.errorsInWindow} slurmrestd poll or read errors within ${t.window / MIN} minutes` })),
  },
  controller_server_threads: {
    expression: 'diag server_thread_count of a slurmctld >= threshold (200; Slurm allows 256)',
    defaults: { for: 2 * MIN, severity: 'warning', threshold: 200, window: 0 },
    evaluate: (ctx, t) =>
      ctx.controllers.filter((c) => (c.server_thread_count ?? 0) >= t.threshold).map((c) => ({ labels: { cluster: c.cluster, controller: c.hostname }, summary: `slurmctld ${c.hostname} of ${c.cluster} busy: ${c.server_thread_count} server threads` })),
  },
  controller_agent_queue: {
    expression: 'diag agent_queue_size of a slurmctld >= threshold (1000)',
    defaults: { for: 2 * MIN, severity: 'warning', threshold: 1000, window: 0 },
    evaluate: (ctx, t) =>
      ctx.controllers.filter((c) => (c.agent_queue_size ?? 0) >= t.threshold).map((c) => ({ labels: { cluster: c.cluster, controller: c.hostname }, summary: `slurmctld ${c.hostname} of ${c.cluster}: ${c.agent_queue_size} RPCs queued to slurmd (agent queue)` })),
  },
  black_hole_node: {
    expression: 'jobs of >= threshold (3) different users failed (FAILED, NODE_FAIL, BOOT_FAIL) on one node within the job-failure window (10m)',
    defaults: { for: 0, severity: 'critical', threshold: 3, window: 0 },
    evaluate: (ctx, t) =>
      ctx.clusters.flatMap((c) =>
        [...c.failedUsersByNode].filter(([node, users]) => users.size >= t.threshold && !c.maintenance.has(node)).map(([node, users]) => ({ labels: { cluster: c.name, node }, summary: `black hole: jobs of ${users.size} users failed on node ${node} of ${c.name}` })),
      ),
  },
  job_failure_burst_partition: {
    expression: 'jobs failed in one partition within the job-failure window (10m) >= threshold (10)',
    defaults: { for: 0, severity: 'warning', threshold: 10, window: 0 },
    evaluate: (ctx, t) =>
      ctx.clusters.flatMap((c) => [...c.failedByPartition].filter(([, n]) => n >= t.threshold).map(([partition, n]) => ({ labels: { cluster: c.name, partition }, summary: `${n} jobs failed in partition ${partition} of ${c.name}` }))),
  },
  job_failure_burst_user: {
    expression: "jobs of one user failed within the job-failure window (10m) >= threshold (10); labelled cause=\"user\" and the user's account, for the tenant's route",
    defaults: { for: 0, severity: 'warning', threshold: 10, window: 0 },
    evaluate: (ctx, t) =>
      ctx.clusters.flatMap((c) =>
        [...c.failedByUser].filter(([, u]) => u.count >= t.threshold).map(([user, u]) => ({ labels: { cluster: c.name, user, account: u.account, cause: 'user' }, summary: `${u.count} jobs of ${user} (account ${u.account}) failed on ${c.name}` })),
      ),
  },
  agent_version_skew: {
    expression: 'connected agents run different versions: each agent older than the newest one',
    defaults: { for: 10 * MIN, severity: 'info', threshold: 0, window: 0 },
    evaluate: (ctx) => {
      const versions = ctx.agents.map((a) => a.version).filter((v) => v !== '');
      const newest = versions.sort(compareVersions).at(-1);
      return ctx.agents
        .filter((a) => newest !== undefined && a.version !== newest)
        .map((a) => ({ labels: { cluster: a.cluster, agent: a.agent, version: a.version || 'unknown' }, summary: `agent ${a.agent} of ${a.cluster} runs ${a.version || 'an unknown version'}; the newest in the region is ${newest}` }));
    },
  },
  audit_write_failing: {
    expression: 'the audit log cannot write (changes are refused meanwhile)',
    defaults: { for: 0, severity: 'critical', threshold: 0, window: 0 },
    evaluate: (ctx) => (ctx.hub.auditFailing === undefined ? [] : [{ labels: { component: 'audit' }, summary: `audit log writes fail: ${ctx.hub.auditFailing}` }]),
  },
  login_failures: {
    expression: 'failed logins from one source address within `window` (10m) >= threshold (10)',
    defaults: { for: 0, severity: 'warning', threshold: 10, window: 10 * MIN },
    evaluate: (ctx, t) => [...ctx.loginFailures].filter(([, n]) => n >= t.threshold).map(([source, n]) => ({ labels: { source }, summary: `${n} failed logins from ${source} within ${t.window / MIN} minutes` })),
  },
  etcd_unreachable: {
    expression: 'clustered: etcd does not answer this hub',
    defaults: { for: 30_000, severity: 'critical', threshold: 0, window: 0 },
    evaluate: (ctx) => (ctx.hub.etcd.startsWith('unreachable') ? [{ labels: { component: 'etcd' }, summary: `etcd ${ctx.hub.etcd}` }] : []),
  },
  redis_unreachable: {
    expression: 'clustered: Redis does not answer this hub (replication, shared logins)',
    defaults: { for: 30_000, severity: 'critical', threshold: 0, window: 0 },
    evaluate: (ctx) => (ctx.hub.redis.startsWith('down') ? [{ labels: { component: 'redis' }, summary: `Redis is ${ctx.hub.redis}` }] : []),
  },
  peer_region_unreachable: {
    expression: 'a peer region (regions.peers) did not answer its last probe',
    defaults: { for: 2 * MIN, severity: 'warning', threshold: 0, window: 0 },
    evaluate: (ctx) => [...ctx.hub.peersUnreachable].map(([region, why]) => ({ labels: { peer_region: region }, summary: `peer region ${region} unreachable: ${why}` })),
  },
} satisfies Record<string, BuiltinRule>;
