import { describe, expect, it } from 'vitest';
import type { LeadershipStatus } from '../leader/index.js';
import { Listening, localHealth, readiness } from './index.js';

const self = { hub_id: 'hub-1', region: 'eu', version: '1.2.3' };

function leadership(status: Partial<LeadershipStatus>): { status(): LeadershipStatus } {
  return { status: () => ({ mode: 'clustered', etcd: 'ok', leading: false, leader: null, token: null, leading_since: null, singletons: [], ...status }) };
}

describe('Listening', () => {
  it('is ready once both listeners are up; the membership identity names their addresses from then on', () => {
    const listening = new Listening(self);
    const before = { ...listening.identity };
    expect(before).toEqual({ ...self, http_url: '', grpc_address: '' });
    listening.grpcUp('127.0.0.1:7443');
    expect(listening.ready).toBe(false);
    listening.httpUp('https://127.0.0.1:8443');
    expect(listening.ready).toBe(true);
    // A spread (how the leadership writes its record) reads the current addresses.
    expect({ ...listening.identity }).toEqual({ ...self, http_url: 'https://127.0.0.1:8443', grpc_address: '127.0.0.1:7443' });
  });
});

describe('readiness', () => {
  it('standalone: the listeners and the data directory only', () => {
    const listening = new Listening(self);
    const ready = readiness({ listening });
    expect(ready()).toEqual({ ready: false, checks: { data_dir: 'loaded', grpc: 'down', http: 'down' } });
    listening.grpcUp('127.0.0.1:1');
    listening.httpUp('https://127.0.0.1:2');
    expect(ready()).toEqual({ ready: true, checks: { data_dir: 'loaded', grpc: 'listening', http: 'listening' } });
  });

  it('clustered: etcd, the leader, the singletons, Redis and replication; OIDC last', () => {
    const listening = new Listening(self);
    listening.grpcUp('127.0.0.1:1');
    listening.httpUp('https://127.0.0.1:2');
    const replication = { redisStatus: () => 'ok', stale: () => new Map([['beta', 'behind hub hub-2 (it has seq 9, this hub 7)']]) };
    const leading = readiness({ listening, clustered: { leadership: leadership({ leading: true, token: 42, singletons: ['replication-compaction'] }), replication }, oidc: { status: () => 'ok' } });
    expect(leading()).toEqual({
      ready: true,
      checks: {
        data_dir: 'loaded',
        grpc: 'listening',
        http: 'listening',
        etcd: 'ok',
        leader: 'this hub (fencing token 42)',
        singletons: 'running: replication-compaction',
        redis: 'ok',
        replication: 'stale: beta (behind hub hub-2 (it has seq 9, this hub 7))',
        oidc: 'ok',
      },
    });
    expect(readiness({ listening, clustered: { leadership: leadership({ leader: 'hub-2' }) } })().checks).toMatchObject({ leader: 'hub hub-2', singletons: 'not run here (this hub does not lead)' });
    expect(readiness({ listening, clustered: { leadership: leadership({ etcd: 'unreachable: x' }) } })().checks).toMatchObject({ etcd: 'unreachable: x', leader: 'unknown' });
  });
});

describe('localHealth', () => {
  it('what the membership record says: ready, Redis, stale and ingested clusters, sorted', () => {
    const listening = new Listening(self);
    const ingesting = new Set(['zeta', 'alpha']);
    expect(localHealth({ listening, ingesting: () => ingesting })()).toEqual({ ready: false, redis: 'off', stale_clusters: [], ingesting: ['alpha', 'zeta'] });
    const replication = { redisStatus: () => 'down: connection refused', stale: () => new Map([['y', 'a'], ['*', 'b']]) };
    expect(localHealth({ listening, ingesting: () => new Set(), replication })()).toEqual({ ready: false, redis: 'down: connection refused', stale_clusters: ['*', 'y'], ingesting: [] });
  });
});
