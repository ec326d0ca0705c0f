// The agent health's Prometheus series: spool write errors, unspooled, unacked bytes, free space
// of the durable directories. prom-client loads with this file, only when metrics are served.
import { Counter, Gauge, Registry } from 'prom-client';
import { freeBytes } from '../../shared/durability/index.js';
import type { AgentHealthDeps } from './agent-health.js';

export function healthRegistry({ faults, spool, durableDirs }: AgentHealthDeps): Registry {
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
  return registry;
}
