// Leadership metrics, added to the hub's registry by the listeners stage (hub/start/listeners.ts).
import { Counter, Gauge, type Registry } from 'prom-client';
import type { EtcdLeadership } from './etcd-leadership.js';
import type { Leadership } from './leadership.js';

export function registerLeaderMetrics(registry: Registry, leadership: Leadership): void {
  new Gauge({
    name: 'sfleet_hub_leader',
    help: '1 while this hub leads its region (and runs the singletons)',
    registers: [registry],
    collect() {
      this.set(leadership.status().leading ? 1 : 0);
    },
  });
  new Gauge({
    name: 'sfleet_hub_etcd_up',
    help: '1 when etcd answers this hub (always 1 standalone); 0 means no singleton runs here',
    registers: [registry],
    collect() {
      const etcd = leadership.status().etcd;
      this.set(etcd === 'ok' || etcd === 'off' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'sfleet_hub_singletons_running',
    help: 'Singletons running on this hub, by name',
    labelNames: ['singleton'],
    registers: [registry],
    collect() {
      this.reset();
      const active = new Set(leadership.runner.active);
      for (const name of leadership.runner.names) this.set({ singleton: name }, active.has(name) ? 1 : 0);
    },
  });
  new Gauge({
    name: 'sfleet_hub_fencing_token',
    help: 'The fencing token of this hub while it leads (0 otherwise)',
    registers: [registry],
    collect() {
      this.set(leadership.status().token ?? 0);
    },
  });
  const stats = (leadership as Partial<EtcdLeadership>).stats;
  new Counter({
    name: 'sfleet_hub_leadership_events_total',
    help: 'Leadership events of this hub: elected, deposed, fenced (a write refused), session (lease granted)',
    labelNames: ['event'],
    registers: [registry],
    collect() {
      this.reset();
      if (!stats) return;
      this.inc({ event: 'elected' }, stats.elections);
      this.inc({ event: 'deposed' }, stats.depositions);
      this.inc({ event: 'fenced' }, stats.fencedRefusals);
      this.inc({ event: 'session' }, stats.sessions);
    },
  });
  new Counter({
    name: 'sfleet_hub_singleton_runs_total',
    help: 'Singleton (re)starts by outcome of the previous run',
    labelNames: ['singleton', 'outcome'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [name, s] of leadership.runner.stats) {
        this.inc({ singleton: name, outcome: 'started' }, s.runs);
        this.inc({ singleton: name, outcome: 'failed' }, s.failures);
        this.inc({ singleton: name, outcome: 'refused' }, s.refused);
      }
    },
  });
}
