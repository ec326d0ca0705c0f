// What the rules read besides the fleet state, gathered on the evaluating hub: the agents'
// heartbeat reports (poll errors as increases over a window), failed logins per source, the
// hub's own etcd/Redis/audit state and the last probe of the peer regions.
import { BUILTIN_RULES, clusterFacts, CounterWindow, EventWindow, NO_HUB_FACTS, type AgentFacts, type RuleContext } from './rules/index.js';
import type { AlertingConfig } from './config.js';
import type { AlertingDeps } from './deps.js';

/** Peer regions are asked at most this often, whatever evaluation_interval is. */
const PEER_PROBE_EVERY_MS = 30_000;

export class Observations {
  private readonly agentErrors = new CounterWindow();
  private readonly loginFailures = new EventWindow();
  private peersUnreachable: ReadonlyMap<string, string> = new Map();
  /** In a hub group: failed logins per source as the group's login limiter counts them (set once the gate is open). */
  sharedLoginFailures?: (now: number, windowMs: number) => ReadonlyMap<string, number>;
  private probing = false;
  private probedAt = -Infinity;

  constructor(private readonly config: AlertingConfig, private readonly deps: AlertingDeps) {}

  /** A failed login from `source` (the audit log's auth:login records, observed on this hub). */
  loginFailed(source: string): void {
    this.loginFailures.add(source, this.deps.clock.now());
  }

  /** Everything one evaluation at `now` reads. */
  context(now: number): RuleContext {
    this.probe();
    const { state } = this.deps;
    return {
      now,
      clusters: [...state.clusters.values()].map((r) => clusterFacts(r, now, this.tuned('job_failure_burst').window)),
      expected: this.deps.expected?.() ?? [],
      stale: this.deps.stale?.() ?? new Map(),
      certificates: this.deps.certificates?.() ?? [],
      controllers: [...state.clusters.values()].flatMap((r) => [...r.objects.controller.values()].map((c) => ({ cluster: r.name, hostname: c.hostname, responding: c.responding, server_thread_count: c.server_thread_count, agent_queue_size: c.agent_queue_size }))),
      agents: this.agentFacts(now),
      hub: { ...(this.deps.hub?.() ?? NO_HUB_FACTS), peersUnreachable: this.peersUnreachable },
      loginFailures: this.loginFailureCounts(now),
    };
  }

  /** This hub's own count, or the group's from the shared store where that is higher (it holds this hub's too). */
  private loginFailureCounts(now: number): Map<string, number> {
    const window = this.tuned('login_failures').window;
    const counts = this.loginFailures.counts(now, window);
    let shared: ReadonlyMap<string, number> = new Map();
    try {
      shared = this.sharedLoginFailures?.(now, window) ?? shared;
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, 'alerting: the shared login counters cannot be read; counting this hub only');
    }
    for (const [source, n] of shared) counts.set(source, Math.max(n, counts.get(source) ?? 0));
    return counts;
  }

  private tuned(rule: keyof typeof BUILTIN_RULES): { window: number } {
    return { window: this.config.rules[rule]?.window ?? BUILTIN_RULES[rule].defaults.window };
  }

  private agentFacts(now: number): AgentFacts[] {
    const window = this.tuned('slurm_poll_errors').window;
    const seen = new Set<string>();
    const out = (this.deps.agents?.() ?? []).map((a) => {
      const key = `${a.cluster}\u0000${a.agent}`;
      seen.add(key);
      const r = a.report;
      const lastPoll = r?.last_poll_at ? Date.parse(r.last_poll_at) : NaN;
      return {
        cluster: a.cluster,
        agent: a.agent,
        version: a.version ?? '',
        polling: r?.polling ?? false,
        ...(Number.isFinite(lastPoll) ? { lastPollMs: lastPoll } : {}),
        spoolDeltas: r?.spool_deltas ?? 0,
        errorsInWindow: r ? this.agentErrors.increase(key, Number(r.poll_failures_total) + Number(r.slurm_read_errors_total), now, window) : 0,
      };
    });
    this.agentErrors.keep(seen);
    return out;
  }

  /** One probe of the peer regions at a time; the rules read the last answer. */
  private probe(): void {
    const now = this.deps.clock.now();
    if (!this.deps.probePeers || this.probing || now - this.probedAt < PEER_PROBE_EVERY_MS) return;
    this.probing = true;
    this.probedAt = now;
    this.deps
      .probePeers()
      .then((down) => (this.peersUnreachable = down))
      .catch((err: Error) => this.deps.logger.warn({ err: err.message }, 'alerting: peer region probe failed'))
      .finally(() => (this.probing = false));
  }
}
