import { describe, expect, it } from 'vitest';
import { toGrpcStatus, type FleetError } from '../../shared/errors/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { FleetState, type ClusterRecord } from '../fleet/index.js';
import type { OwnershipTarget } from '../leader/index.js';
import { ClusterWriters, type AttachableOwnership, type Writer } from './writers.js';

/** A stream as the role machine sees it, recording what it was told. */
class FakeWriter implements Writer {
  told: string[] = [];
  isSilent = false;
  done = false;
  constructor(
    readonly cluster: string,
    readonly agentName: string,
  ) {}
  silent(): boolean {
    return this.isSilent;
  }
  ended(): boolean {
    return this.done;
  }
  takeRole(role: 'active' | 'standby', reason: string): void {
    this.told.push(`${role}: ${reason}`);
  }
  end(err: FleetError): void {
    this.done = true;
    this.told.push(toGrpcStatus(err).details);
  }
}

function setup(ownership?: AttachableOwnership) {
  const state = new FleetState();
  const published: Pick<ClusterRecord, 'connected' | 'agent'>[] = [];
  state.onClusterStatus((r) => published.push({ connected: r.connected, agent: r.agent }));
  const writers = new ClusterWriters<FakeWriter>({ logger: silentLogger(), state, ownership });
  const end = (w: FakeWriter) => {
    w.done = true;
    writers.release(w);
  };
  return { state, writers, published, end };
}

describe('ClusterWriters', () => {
  it('one writer per cluster; other agents stand by and are promoted in connection order', () => {
    const { writers, published, end } = setup();
    const [a, b, c] = [new FakeWriter('c1', 'a'), new FakeWriter('c1', 'b'), new FakeWriter('c1', 'c')];
    writers.claim(a);
    writers.claim(b);
    writers.claim(c);
    expect([a.told, b.told, c.told]).toEqual([['active: connected'], ['standby: another agent of the cluster is active'], ['standby: another agent of the cluster is active']]);
    expect(writers.activeAgents()).toEqual(new Map([['c1', 'a']]));
    b.isSilent = true;
    end(a);
    // b is silent: c is next.
    expect(c.told.at(-1)).toBe('active: agent a went away');
    expect(writers.roleOf(c)).toBe('active');
    expect(writers.roleOf(b)).toBe('standby');
    end(c);
    end(b);
    expect(writers.writerOf('c1')).toBeUndefined();
    expect(published).toEqual([{ connected: true, agent: 'a' }, { connected: true, agent: 'c' }, { connected: false, agent: 'c' }]);
  });

  it('a new stream of the same agent, or any agent replacing a silent writer, takes over at once', () => {
    const { writers } = setup();
    const [a1, a2, b] = [new FakeWriter('c1', 'a'), new FakeWriter('c1', 'a'), new FakeWriter('c1', 'b')];
    writers.claim(a1);
    writers.claim(a2);
    expect(a1.told.at(-1)).toBe('SF_INGEST_SUPERSEDED: a newer stream of agent a took over cluster c1');
    writers.release(a1); // its close: the cluster stays with a2
    expect(writers.writerOf('c1')).toBe(a2);
    a2.isSilent = true;
    writers.claim(b);
    expect(a2.told.at(-1)).toBe('SF_INGEST_AGENT_SILENT: replaced by a live agent of the same cluster');
    expect(writers.writerOf('c1')).toBe(b);
  });

  it('with an ownership (a constructor dependency): attaches itself, waits for it, and is demoted and promoted by it', async () => {
    let target: OwnershipTarget | undefined;
    const owners = new Map<string, boolean>();
    const released: string[] = [];
    const ownership: AttachableOwnership = {
      attach: (t) => (target = t),
      acquire: async (cluster) => owners.get(cluster) ?? true,
      release: (cluster) => released.push(cluster),
      owner: () => null,
    };
    const { writers, end } = setup(ownership);
    expect(target).toBe(writers);
    owners.set('c1', false);
    const a = new FakeWriter('c1', 'a');
    writers.claim(a);
    expect(writers.roleOf(a)).toBe('pending');
    await Promise.resolve();
    await Promise.resolve();
    expect(a.told).toEqual(['standby: another agent of the cluster is active']);
    expect(target!.waitingClusters()).toEqual(new Map([['c1', 'a']]));
    expect(target!.promote('c1', 'the owner went away')).toBe(true);
    expect(a.told.at(-1)).toBe('active: the owner went away');
    target!.demote('c1', 'hub h2 owns the cluster');
    expect(a.told.at(-1)).toBe('standby: hub h2 owns the cluster');
    expect(writers.writerOf('c1')).toBeUndefined();
    target!.promote('c1', 'back');
    end(a);
    expect(released).toEqual(['c1']);
    // An agent whose stream ended while the ownership was asked releases what it got.
    const b = new FakeWriter('c2', 'b');
    writers.claim(b);
    b.done = true;
    await Promise.resolve();
    await Promise.resolve();
    expect(released).toEqual(['c1', 'c2']);
    expect(b.told).toEqual([]);
  });
});
