// The agent's own health: a /healthz snapshot, and its Prometheus series (health-metrics.ts,
// loaded only by an agent that serves or pushes metrics). The HTTP listener that serves them
// lives elsewhere (agent/observe); this room only says what is true.
// `degraded` means the agent works but not as promised: its spool cannot write (deltas are kept
// in memory and streamed, bounded by the spool's max_bytes), or a durable directory is gone.
import { describeFault, type WriteFaults } from '../../shared/durability/index.js';

/** What the spool tells health (agent/spool's DeltaSpool fits). */
export interface SpoolHealth {
  readonly unspooled: boolean;
  readonly unackedBytes: number;
}

export interface AgentHealthDeps {
  faults: WriteFaults;
  spool: SpoolHealth;
  /** Directories written durably (the spool directory): their free space is a gauge. */
  durableDirs: readonly string[];
}

export interface AgentHealthSnapshot {
  status: 'ok' | 'degraded';
  reasons: string[];
}

export interface AgentHealth {
  health(): AgentHealthSnapshot;
}

export function createAgentHealth({ faults, spool }: AgentHealthDeps): AgentHealth {
  return {
    health() {
      const reasons = faults.degraded().map(describeFault);
      if (spool.unspooled && reasons.length === 0) reasons.push('spool: deltas are kept in memory until the spool can write');
      return { status: reasons.length ? 'degraded' : 'ok', reasons };
    },
  };
}
