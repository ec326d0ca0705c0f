import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/logging/index.js';
import { hubHealth } from '../health/hub-health.js';
import { WriteFaults } from '../../shared/durability/index.js';
import { EtcdSpaceWatch, isEtcdNoSpace } from './etcd-space.js';

/** A maintenance client answering what `answer` holds now (an Error: etcd does not answer). */
function fakeEtcd(answer: { current: { dbSize: string; errors: string[] } | Error }) {
  return {
    maintenance: {
      status: async () => {
        if (answer.current instanceof Error) throw answer.current;
        return answer.current;
      },
    },
  } as unknown as ConstructorParameters<typeof EtcdSpaceWatch>[0];
}

describe('etcd NOSPACE watch', () => {
  it('tells etcd refusing a write for space from other errors', () => {
    expect(isEtcdNoSpace(new Error('8 RESOURCE_EXHAUSTED: etcdserver: mvcc: database space exceeded'))).toBe(true);
    expect(isEtcdNoSpace(new Error('14 UNAVAILABLE: No connection established'))).toBe(false);
    expect(isEtcdNoSpace(new Error('8 RESOURCE_EXHAUSTED: etcdserver: too many requests'))).toBe(false);
  });

  it('raised alarm: /healthz degraded naming it and the gauge 1; cleared: ok and 0; etcd silent: -1, not degraded', async () => {
    const answer: { current: { dbSize: string; errors: string[] } | Error } = { current: { dbSize: '20480', errors: [] } };
    const watch = new EtcdSpaceWatch(fakeEtcd(answer), silentLogger());
    const registry = new Registry();
    watch.registerMetrics(registry);
    const health = hubHealth({ faults: new WriteFaults({ logger: silentLogger() }), etcd: () => 'ok', etcdSpace: watch });
    const gauge = async (name: string) => (await registry.getSingleMetric(name)!.get()).values[0]?.value;

    await watch.check();
    expect(health()).toEqual({ status: 'ok', reasons: [] });
    expect(await gauge('sfleet_hub_etcd_nospace')).toBe(0);

    answer.current = { dbSize: '4194304', errors: ['memberID:10276657743932975437 alarm:NOSPACE '] };
    await watch.check();
    const h = health();
    expect(h.status).toBe('degraded');
    expect(h.reasons).toEqual([expect.stringMatching(/^etcd: etcd is out of space \(NOSPACE alarm\).*README: "etcd out of space".*\(database 4194304 bytes\)$/)]);
    expect(await gauge('sfleet_hub_etcd_nospace')).toBe(1);
    expect(await gauge('sfleet_hub_etcd_db_bytes')).toBe(4194304);

    answer.current = new Error('14 UNAVAILABLE: No connection established');
    await watch.check();
    expect(await gauge('sfleet_hub_etcd_nospace')).toBe(-1);
    expect(health().status).toBe('ok');

    answer.current = { dbSize: '98304', errors: [] };
    await watch.check();
    expect(await gauge('sfleet_hub_etcd_nospace')).toBe(0);
    expect(health()).toEqual({ status: 'ok', reasons: [] });
  });
});
