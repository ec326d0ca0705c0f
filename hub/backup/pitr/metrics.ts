// Shipping as metrics: failed ships per destination, and when each last shipped (the RPO as it is).
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ChangeShipper } from './shipper.js';

export function registerShipMetrics(registry: Registry, shipper: ChangeShipper): void {
  new Counter({
    name: 'sfleet_backup_ship_failures_total',
    help: 'Ships of the change log and audit records to a backup destination that failed (retried at the next interval)',
    labelNames: ['destination'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of shipper.statuses()) this.inc({ destination: s.destination }, shipper.failedTotal.get(s.destination) ?? 0);
    },
  });
  new Gauge({
    name: 'sfleet_backup_ship_last_success_timestamp_seconds',
    help: 'When the changes were last shipped to a backup destination (everything written before it is off the hub)',
    labelNames: ['destination'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of shipper.statuses()) if (s.last_ok) this.set({ destination: s.destination }, Date.parse(s.last_ok) / 1000);
    },
  });
}
