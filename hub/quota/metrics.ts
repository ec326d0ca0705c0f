// Quota gauges: usage and limit of each tenant, account and user limit (the quota-breach signal
// for alerting is usage > limit). /metrics is refused to tenant callers, so the names are safe here.
import { Gauge, type Registry } from 'prom-client';
import type { QuotaBook } from './quotas.js';

export function registerQuotaMetrics(registry: Registry, book: QuotaBook): void {
  const labelNames = ['tenant', 'scope', 'subject', 'limit'];
  new Gauge({
    name: 'sfleet_quota_usage',
    help: 'Usage counted against a quota limit (jobs, nodes, cpus, gpus, memory bytes)',
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const t of book.report()) for (const l of t.limits) this.set({ tenant: t.tenant, scope: l.scope, subject: l.subject, limit: l.limit }, l.usage);
    },
  });
  new Gauge({
    name: 'sfleet_quota_limit',
    help: 'A quota limit in force now (dynamic schedules applied)',
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const t of book.report()) for (const l of t.limits) this.set({ tenant: t.tenant, scope: l.scope, subject: l.subject, limit: l.limit }, l.value);
    },
  });
}
