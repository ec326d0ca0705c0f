// The last heartbeat report of each agent streaming to this hub, with when it was heard. The
// metrics read it at scrape time; an agent's entry goes when its stream ends, so a gone agent
// leaves no frozen series behind (its cluster's data age keeps rising instead).
import type { AgentReport } from '../../generated/fleet/v1/agent.js';
import type { Clock } from '../../shared/clock/index.js';

export interface HeardAgent {
  cluster: string;
  agent: string;
  /** Epoch ms of the last message on its stream. */
  lastSeenMs: number;
  /** Undefined until its first heartbeat, or for agents too old to send one. */
  report?: AgentReport;
  /** From its hello (alerting's agent_version_skew). */
  version?: string;
}

export class AgentReports {
  /** By stream: a reconnect overlaps the old stream, whose end must not drop the new entry. */
  private readonly agents = new Map<object, HeardAgent>();

  constructor(private readonly clock: Clock) {}

  heard(stream: object, cluster: string, agent: string, report?: AgentReport, version?: string): void {
    const entry = this.agents.get(stream) ?? { cluster, agent, lastSeenMs: 0 };
    entry.lastSeenMs = this.clock.now();
    if (report) entry.report = report;
    if (version) entry.version = version;
    this.agents.set(stream, entry);
  }

  gone(stream: object): void {
    this.agents.delete(stream);
  }

  /** One entry per cluster and agent: the one heard last. */
  list(): HeardAgent[] {
    const out = new Map<string, HeardAgent>();
    for (const a of this.agents.values()) {
      const key = `${a.cluster}\u0000${a.agent}`;
      const seen = out.get(key);
      if (!seen || seen.lastSeenMs <= a.lastSeenMs) out.set(key, a);
    }
    return [...out.values()];
  }
}
