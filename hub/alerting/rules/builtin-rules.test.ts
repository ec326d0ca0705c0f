// Every built-in rule, end to end through Alerting: its condition made true fires it (listed,
// recorded as an event, notified), made false again resolves it (event, resolve notification).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../shared/clock/index.js';
import { createLogger } from '../../../shared/logging/index.js';
import type { ControllerHealth } from '../../../shared/model/index.js';
import { EventLog } from '../../events/index.js';
import { Alerting, type HeardAgentLike } from '../alerting.js';
import { config, Fleet, job, Recorder } from '../fleet-fixture.js';
import { BUILTIN_RULES } from './builtin.js';
import { ruleRow } from './rule-table.js';

const logger = createLogger({ name: 'test', level: 'silent' });
const MIN = 60_000;

function setup(extra: Record<string, unknown> = {}) {
  const clock = new ManualClock();
  const fleet = new Fleet(clock);
  const rec = new Recorder();
  const events = new EventLog({}, { logger, clock: () => clock.now() });
  // What the hub hears besides Slurm objects, as the test sets it.
  const world = {
    stale: new Map<string, string>(),
    certNotAfter: clock.now() + 365 * 24 * 60 * MIN,
    agents: [{ cluster: 'c1', agent: 'head1', version: '1.10.0', lagMs: 0, failures: 0, spool: 0 }],
    hub: { etcd: 'ok', redis: 'ok', auditFailing: undefined as string | undefined },
    peersDown: new Map<string, string>(),
    expected: [] as string[],
  };
  const agents = (): HeardAgentLike[] =>
    world.agents.map((a) => ({ cluster: a.cluster, agent: a.agent, version: a.version, report: { last_poll_at: new Date(clock.now() - a.lagMs).toISOString(), poll_failures_total: a.failures, slurm_read_errors_total: 0, spool_deltas: a.spool, polling: true } }));
  const forZero = Object.fromEntries(Object.keys(BUILTIN_RULES).map((r) => [r, { for: 0 }]));
  const channels = [{ type: 'slack', webhook: 'https://hooks.example/x' }, { type: 'webhook', name: 'tenant-physics', url: 'http://127.0.0.1:9/t' }];
  const policies = Object.fromEntries(['critical', 'warning', 'info'].map((s) => [s, { escalation_time: '1h', channels: ['slack'] }]));
  const alerting = new Alerting(config({ channels, policies, group_wait: 0, rules: forZero, ...extra }), {
    state: fleet.state,
    logger,
    clock,
    region: 'eu',
    events,
    notifiers: rec.factory,
    sleep: async () => undefined,
    stale: () => world.stale,
    expected: () => world.expected,
    certificates: () => [{ name: 'hub', notAfter: world.certNotAfter }],
    agents,
    hub: () => world.hub,
    probePeers: async () => new Map(world.peersDown),
  });
  const step = async (ms: number) => {
    clock.advance(ms);
    await alerting.tick();
    await alerting.idle();
  };
  return { clock, fleet, rec, events, alerting, step, world };
}

type Ctx = ReturnType<typeof setup>;
const controller = (extra: Partial<ControllerHealth>): ControllerHealth => ({ cluster: 'c1', hostname: 'ctl1', responding: true, mode: 'primary', api_version: 'v0.0.38', slurm_version: '22.05', ...extra });
const failed = (ctx: Ctx, ids: number[], extra: (i: number) => Parameters<typeof job>[2]) => {
  for (const id of ids) ctx.fleet.record.objects.job.set(id as never, job(id, 'FAILED', { end_time: new Date(ctx.clock.now()).toISOString(), nodes: ['n2'], ...extra(id) }));
};
const removeJobs = (ctx: Ctx) => ctx.fleet.record.objects.job.clear();
const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/** Per rule: make its condition true, the labels it fires with, make it false again. */
const CASES: Record<keyof typeof BUILTIN_RULES, { fire(c: Ctx): void; labels: Record<string, string>; clear(c: Ctx): void }> = {
  cluster_unreachable: { fire: (c) => c.fleet.state.setAgentStatus('c1', { connected: false }), labels: { cluster: 'c1', severity: 'critical' }, clear: (c) => c.fleet.state.setAgentStatus('c1', { connected: true }) },
  // Declared in hub.yaml, never heard: fires; its agent's first stream clears it.
  cluster_expected_missing: { fire: (c) => (c.world.expected = ['c1', 'c9']), labels: { cluster: 'c9', severity: 'warning' }, clear: (c) => c.fleet.state.setAgentStatus('c9', { connected: true, agent: 'head9' }) },
  // The backup answers: with none answering, cluster_controller_down fires and mutes this one.
  controller_not_responding: {
    fire: (c) => {
      c.fleet.record.objects.controller.set('ctl1' as never, controller({ responding: false }));
      c.fleet.record.objects.controller.set('ctl2' as never, controller({ hostname: 'ctl2', mode: 'backup' }));
    },
    labels: { controller: 'ctl1' },
    clear: (c) => c.fleet.record.objects.controller.set('ctl1' as never, controller({})),
  },
  cluster_controller_down: {
    fire: (c) => c.fleet.record.objects.controller.set('ctl1' as never, controller({ responding: false })),
    labels: { cluster: 'c1', severity: 'critical' },
    clear: (c) => c.fleet.record.objects.controller.set('ctl1' as never, controller({})),
  },
  node_down: { fire: (c) => c.fleet.down('n3'), labels: { node: 'n3', severity: 'warning' }, clear: (c) => c.fleet.up('n3') },
  partition_nodes_unavailable: { fire: (c) => c.fleet.down('n3'), labels: { partition: 'batch', severity: 'critical' }, clear: (c) => c.fleet.up('n3') },
  job_failure_burst: { fire: (c) => failed(c, range(20), (i) => ({ user: `u${i % 2}`, nodes: [`n${(i % 4) + 1}`] })), labels: { cluster: 'c1' }, clear: removeJobs },
  queue_stall: { fire: (c) => c.fleet.record.objects.job.set(1 as never, job(1, 'PENDING', { state_reason: 'Priority' })), labels: { cluster: 'c1' }, clear: removeJobs },
  replication_stale: { fire: (c) => c.world.stale.set('c1', 'no replication for 40 s'), labels: { cluster: 'c1' }, clear: (c) => c.world.stale.clear() },
  certificate_expiry: { fire: (c) => (c.world.certNotAfter = c.clock.now() + 3 * 24 * 60 * MIN), labels: { certificate: 'hub' }, clear: (c) => (c.world.certNotAfter = c.clock.now() + 90 * 24 * 60 * MIN) },
  agent_lagging: { fire: (c) => (c.world.agents[0].lagMs = 5 * MIN), labels: { cluster: 'c1', agent: 'head1' }, clear: (c) => (c.world.agents[0].lagMs = 0) },
  slurm_poll_errors: { fire: (c) => (c.world.agents[0].failures = 4), labels: { cluster: 'c1', agent: 'head1' }, clear: () => undefined /* no new errors: the window moves past them */ },
  controller_server_threads: { fire: (c) => c.fleet.record.objects.controller.set('ctl1' as never, controller({ server_thread_count: 230 })), labels: { controller: 'ctl1' }, clear: (c) => c.fleet.record.objects.controller.set('ctl1' as never, controller({ server_thread_count: 4 })) },
  controller_agent_queue: { fire: (c) => c.fleet.record.objects.controller.set('ctl1' as never, controller({ agent_queue_size: 4000 })), labels: { controller: 'ctl1' }, clear: (c) => c.fleet.record.objects.controller.set('ctl1' as never, controller({ agent_queue_size: 0 })) },
  black_hole_node: { fire: (c) => failed(c, [1, 2, 3], (i) => ({ user: ['ann', 'ben', 'cy'][i - 1] })), labels: { node: 'n2', severity: 'critical' }, clear: removeJobs },
  job_failure_burst_partition: { fire: (c) => failed(c, range(10), (i) => ({ user: `u${i % 5}` })), labels: { partition: 'batch' }, clear: removeJobs },
  job_failure_burst_user: { fire: (c) => failed(c, range(10), () => ({ user: 'carol', account: 'physics' })), labels: { user: 'carol', account: 'physics', cause: 'user', severity: 'warning' }, clear: removeJobs },
  agent_version_skew: {
    fire: (c) => c.world.agents.push({ cluster: 'c2', agent: 'head2', version: '1.9.3', lagMs: 0, failures: 0, spool: 0 }),
    labels: { cluster: 'c2', agent: 'head2', version: '1.9.3' },
    clear: (c) => (c.world.agents[1].version = '1.10.0'),
  },
  audit_write_failing: { fire: (c) => (c.world.hub.auditFailing = 'EIO'), labels: { component: 'audit', severity: 'critical' }, clear: (c) => (c.world.hub.auditFailing = undefined) },
  login_failures: { fire: (c) => range(10).forEach(() => c.alerting.loginFailed('203.0.113.9')), labels: { source: '203.0.113.9' }, clear: () => undefined /* the window moves past them */ },
  etcd_unreachable: { fire: (c) => (c.world.hub.etcd = 'unreachable: deadline exceeded'), labels: { component: 'etcd' }, clear: (c) => (c.world.hub.etcd = 'ok') },
  redis_unreachable: { fire: (c) => (c.world.hub.redis = 'down: ECONNREFUSED'), labels: { component: 'redis' }, clear: (c) => (c.world.hub.redis = 'ok') },
  peer_region_unreachable: { fire: (c) => c.world.peersDown.set('us', 'no answer within 2000 ms'), labels: { peer_region: 'us' }, clear: (c) => c.world.peersDown.clear() },
};

describe('built-in rules: each fires and resolves', () => {
  it('has a case for every built-in rule', () => {
    expect(Object.keys(CASES).sort()).toEqual(Object.keys(BUILTIN_RULES).sort());
  });

  for (const [name, c] of Object.entries(CASES)) {
    it(`${name}: fires (listed, event, notification), then resolves (event, resolve notification)`, async () => {
      const ctx = setup();
      await ctx.step(0);
      await ctx.step(31_000);
      expect(ctx.alerting.list().filter((a) => a.labels.alertname === name)).toEqual([]);
      c.fire(ctx);
      await ctx.step(31_000); // a peer probe runs every 30 s and is read by the next evaluation
      await ctx.step(31_000);
      const firing = ctx.alerting.list({ state: 'firing' }).filter((a) => a.labels.alertname === name);
      expect(firing).toHaveLength(1);
      expect(firing[0].labels).toMatchObject(c.labels);
      expect(ctx.events.list({ types: ['alert_firing'] }).filter((e) => e.attributes.alertname === name)).toHaveLength(1);
      const notified = ctx.rec.sent.filter((s) => s.n.status === 'firing' && s.n.alerts.some((a) => a.labels.alertname === name));
      expect(notified.length).toBeGreaterThan(0);
      c.clear(ctx);
      await ctx.step(11 * MIN); // past every rule's window (login failures: 10m)
      await ctx.step(3 * MIN); // past keep_firing_for (2m)
      expect(ctx.alerting.list({ state: 'firing' }).filter((a) => a.labels.alertname === name)).toEqual([]);
      expect(ctx.alerting.list({ state: 'resolved' }).filter((a) => a.labels.alertname === name)).toHaveLength(1);
      expect(ctx.events.list({ types: ['alert_resolved'] }).filter((e) => e.attributes.alertname === name)).toHaveLength(1);
      expect(ctx.rec.sent.some((s) => s.n.status === 'resolved' && s.n.alerts.some((a) => a.labels.alertname === name))).toBe(true);
    });
  }
});

describe('user-caused failure bursts go to the tenant, not on-call', () => {
  it('a route on cause="user" and the account sends them to the tenant channel only', async () => {
    const ctx = setup({
      channels: [{ type: 'pagerduty', integration_key: 'k' }, { type: 'webhook', name: 'tenant-physics', url: 'http://127.0.0.1:9/t' }],
      policies: { warning: { escalation_time: '30m', channels: ['pagerduty'] }, critical: { escalation_time: '5m', channels: ['pagerduty'] } },
      routes: [{ matchers: ['cause="user"', 'account="physics"'], channels: ['tenant-physics'] }],
      rules: { job_failure_burst_user: { for: 0 }, job_failure_burst: { enabled: false }, job_failure_burst_partition: { enabled: false }, black_hole_node: { enabled: false } },
    });
    failed(ctx, range(12), () => ({ user: 'carol', account: 'physics' }));
    await ctx.step(0);
    await ctx.step(1_000);
    expect(ctx.rec.of('tenant-physics', 'firing').map((n) => n.group_labels.alertname)).toEqual(['job_failure_burst_user']);
    expect(ctx.rec.of('tenant-physics', 'firing')[0].severity).toBe('warning');
    expect(ctx.rec.of('pagerduty')).toEqual([]);
  });
});

describe('the README lists every built-in rule with its expression, for: and severity', () => {
  it('has the row of each rule as shipped', () => {
    const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
    for (const [name, rule] of Object.entries(BUILTIN_RULES)) expect(readme).toContain(ruleRow(name, rule));
  });
});
