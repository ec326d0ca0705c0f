// Prometheus view of the audit log and its shipping, read at scrape time.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AuditLog } from './audit-log.js';

export function registerAuditMetrics(registry: Registry, audit: AuditLog): void {
  new Counter({
    name: 'sfleet_audit_records_total',
    help: 'Audit records written, by outcome',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [outcome, n] of Object.entries(audit.recorded)) this.inc({ outcome }, n);
    },
  });
  new Counter({
    name: 'sfleet_audit_write_failures_total',
    help: 'Audit records that could not be written (their requests were refused or failed closed)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(audit.writer.stats.write_failures);
    },
  });
  const perSink = (name: string, help: string, key: 'shipped' | 'dropped' | 'rejected' | 'failures'): void => {
    new Counter({
      name,
      help,
      labelNames: ['sink'],
      registers: [registry],
      collect() {
        this.reset();
        for (const s of audit.shippers) this.inc({ sink: s.sink.name }, s.stats[key]);
      },
    });
  };
  perSink('sfleet_audit_shipped_total', 'Audit records a destination accepted', 'shipped');
  perSink('sfleet_audit_ship_dropped_total', 'Audit records dropped from a full shipping buffer (still in the local files)', 'dropped');
  perSink('sfleet_audit_ship_rejected_total', 'Audit records a destination refused for good (still in the local files)', 'rejected');
  perSink('sfleet_audit_ship_failures_total', 'Failed shipping requests (retried with backoff)', 'failures');
  new Gauge({
    name: 'sfleet_audit_ship_buffered',
    help: 'Audit records waiting to be shipped',
    labelNames: ['sink'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of audit.shippers) this.set({ sink: s.sink.name }, s.buffered);
    },
  });
}
