// Replication metrics, added to the hub's registry by the listeners stage (hub/start/listeners.ts).
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Replication } from './replication.js';

export function registerReplicationMetrics(registry: Registry, replication: Replication): void {
  new Gauge({
    name: 'sfleet_redis_eviction_policy_ok',
    help: '1 when Redis runs with maxmemory-policy noeviction, 0 when it may evict stream entries and sessions, -1 not known yet',
    registers: [registry],
    collect() {
      this.set(replication.eviction.gauge());
    },
  });
  new Gauge({
    name: 'sfleet_replication_redis_up',
    help: '1 when this hub reads the replication stream and can publish to it',
    registers: [registry],
    collect() {
      this.set(replication.redisStatus() === 'ok' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'sfleet_replication_stale',
    help: '1 for each cluster whose data this hub cannot vouch for now (see /api/v1/clusters)',
    labelNames: ['cluster'],
    registers: [registry],
    collect() {
      this.reset();
      for (const cluster of replication.stale().keys()) this.set({ cluster }, 1);
    },
  });
  new Gauge({
    name: 'sfleet_replication_read_age_seconds',
    help: 'Seconds since the replication stream last answered this hub',
    registers: [registry],
    collect() {
      const age = replication.presence.streamReadAgeMs();
      this.set(age === null ? -1 : age / 1000);
    },
  });
  new Counter({
    name: 'sfleet_replication_entries_total',
    help: 'Replication stream entries by outcome',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      this.reset();
      const f = replication.follower.stats;
      const p = replication.publisher.stats;
      this.inc({ outcome: 'applied' }, f.applied);
      this.inc({ outcome: 'duplicate' }, f.duplicates);
      this.inc({ outcome: 'gap' }, f.gaps);
      this.inc({ outcome: 'bootstrap' }, f.bootstraps);
      this.inc({ outcome: 'published' }, p.published);
      this.inc({ outcome: 'published_snapshot' }, p.snapshots);
      this.inc({ outcome: 'publish_failed' }, p.failures);
    },
  });
}
