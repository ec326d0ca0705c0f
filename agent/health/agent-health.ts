// The agent's own health: its Prometheus registry and a /healthz snapshot. The HTTP listener
// that serves them lives elsewhere (agent/main wires it); this room only says what is true.
// `degraded` means the agent works but not as promised: its spool cannot write (deltas are kept
// in memory and streamed, bounded by the spool's max_bytes), or a durable directory is gone.
import { Counter, Gauge, Registry } from 'prom-client';
import { describeFault, freeBytes, type WriteFaults } from '../../shared/durability/index.js';

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
  registry: Registry;
  health(): AgentHealthSnapshot;
}

export function createAgentHealth({ faults, spool, durableDirs }: AgentHealthDeps): AgentHealth {
  const registry = new Registry();
  // Process series come with the observe listener's registry (shared/metrics/process-metrics.ts).
  new Counter({
    name: 'sfleet_agent_spool_write_errors_total',
    help: 'Durable writes of the spool (log appends, fsyncs, checkpoints) that failed, and spool files found deleted or truncated',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(faults.errorCounts().get('spool') ?? 0);
    },
  });
  new Gauge({
    name: 'sfleet_agent_spool_unspooled',
    help: '1 while the spool cannot write and unacked deltas live only in memory',
    registers: [registry],
    collect() {
      this.set(spool.unspooled ? 1 : 0);
    },
  });
  new Gauge({
    name: 'sfleet_agent_spool_unacked_bytes',
    help: 'Bytes of deltas the hub has not acknowledged yet',
    registers: [registry],
    collect() {
      this.set(spool.unackedBytes);
    },
  });
  new Gauge({
    name: 'sfleet_durable_dir_free_bytes',
    help: 'Bytes free for the agent in the filesystem of each directory it writes durably',
    labelNames: ['dir'],
    registers: [registry],
    collect() {
      this.reset();
      for (const dir of durableDirs) {
        const free = freeBytes(dir);
        if (free !== undefined) this.set({ dir }, free);
      }
    },
  });
  return {
    registry,
    health() {
      const reasons = faults.degraded().map(describeFault);
      if (spool.unspooled && reasons.length === 0) reasons.push('spool: deltas are kept in memory until the spool can write');
      return { status: reasons.length ? 'degraded' : 'ok', reasons };
    },
  };
}
