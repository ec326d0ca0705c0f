// What the rules read besides the fleet model: the agents' heartbeat reports (hub/ingest/
// agent-reports.ts), the hub's own dependencies (etcd, Redis, the audit log, peer regions) and
// failed logins. Counters in heartbeats are totals since the agent started, so the rules look
// at their increase within a window: CounterWindow keeps the samples that takes.

/** One agent as its last heartbeat describes it. */
export interface AgentFacts {
  cluster: string;
  agent: string;
  /** From its hello; '' for agents that did not say. */
  version: string;
  polling: boolean;
  /** Epoch ms of its last poll; undefined before the first or without a report. */
  lastPollMs?: number;
  /** Deltas spooled on the agent and not yet acknowledged by a hub. */
  spoolDeltas: number;
  /** Poll failures and Slurm read errors (slurmrestd, slurmdbd) within the window. */
  errorsInWindow: number;
}

/** The hub's own dependencies as one evaluation sees them. */
export interface HubFacts {
  /** 'ok', 'off' (standalone) or 'unreachable: why'. */
  etcd: string;
  /** 'ok', 'off' or 'down...'. */
  redis: string;
  /** Why audit writes fail now; undefined while they work. */
  auditFailing?: string;
  /** Peer regions that did not answer the last probe, with why. */
  peersUnreachable: ReadonlyMap<string, string>;
}

export const NO_HUB_FACTS: HubFacts = { etcd: 'off', redis: 'off', peersUnreachable: new Map() };

/** Increase of a total since the oldest sample inside the window (a restart that lowers it starts over). */
export class CounterWindow {
  private readonly samples = new Map<string, { at: number; value: number }[]>();

  increase(key: string, value: number, now: number, windowMs: number): number {
    let list = this.samples.get(key);
    if (!list) this.samples.set(key, (list = []));
    const last = list.at(-1);
    if (last && value < last.value) list.length = 0;
    list.push({ at: now, value });
    while (list.length > 1 && now - list[0].at > windowMs) list.shift();
    return value - list[0].value;
  }

  /** Forgets keys not seen in this evaluation (agents gone). */
  keep(keys: ReadonlySet<string>): void {
    for (const k of this.samples.keys()) if (!keys.has(k)) this.samples.delete(k);
  }
}

/** Timestamps of events per key within a window (failed logins per source address). */
export class EventWindow {
  private readonly events = new Map<string, number[]>();

  add(key: string, at: number): void {
    const list = this.events.get(key) ?? [];
    list.push(at);
    // Bounded: a flood from one source costs at most this many timestamps.
    if (list.length > 10_000) list.splice(0, list.length - 10_000);
    this.events.set(key, list);
  }

  counts(now: number, windowMs: number): Map<string, number> {
    const out = new Map<string, number>();
    for (const [key, list] of this.events) {
      while (list.length && now - list[0] > windowMs) list.shift();
      if (list.length) out.set(key, list.length);
      else this.events.delete(key);
    }
    return out;
  }
}
