// The hub's durable writes as metrics: failed writes per store (a full or read-only disk, an
// I/O error, a file lost under the hub) and the free space of every durable directory, so a
// disk that fills up is seen before the first ENOSPC.
import { Counter, Gauge, type Registry } from 'prom-client';
import { freeBytes, type WriteFaults } from '../../shared/durability/index.js';

export function registerDurabilityMetrics(registry: Registry, faults: WriteFaults, durableDirs: readonly string[]): void {
  new Counter({
    name: 'sfleet_hub_durable_write_errors_total',
    help: 'Durable writes of the hub that failed (writes, fsyncs, rewrites) and files found deleted or truncated, by store (store, events, audit, audit-fallback, tokens, users, sessions)',
    labelNames: ['store'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [store, n] of faults.errorCounts()) this.inc({ store }, n);
    },
  });
  new Gauge({
    name: 'sfleet_durable_dir_free_bytes',
    help: 'Bytes free for the hub in the filesystem of each directory it writes durably',
    labelNames: ['dir'],
    registers: [registry],
    collect() {
      this.reset();
      for (const dir of new Set(durableDirs)) {
        const free = freeBytes(dir);
        if (free !== undefined) this.set({ dir }, free);
      }
    },
  });
}
