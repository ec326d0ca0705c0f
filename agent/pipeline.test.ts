// Events in the agent pipeline: they ride the poll's delta, or a delta of their own, and never
// make the first delta of an epoch (the snapshot) an empty one.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FleetEvent } from '../generated/fleet/v1/agent.js';
import { silentLogger } from '../shared/logging/index.js';
import { emptyClusterModel, type ClusterModel, type Job } from '../shared/model/index.js';
import { AgentPipeline } from './pipeline.js';
import type { CommandOutcome, PollResult, SlurmSource } from './source/source.js';
import { DeltaSpool } from './spool/index.js';

const logger = silentLogger();

function job(id: number): Job {
  return {
    cluster: 'c1', id, name: `j${id}`, user: 'bob', account: 'ops', partition: 'batch', qos: 'normal', state: 'RUNNING',
    state_flags: [], state_reason: 'None', nodes: [], node_list: '', cpus: 1, node_count: 1, working_dir: '', comment: '', tres: '',
  };
}

function event(id: string): FleetEvent {
  return { id, cluster: 'c1', type: 'controller_failover', severity: 'warning', message: 'switched', occurred_at: '2026-03-01T12:00:00.000Z', attributes: { from_endpoint: 'http://a:6820', to_endpoint: 'http://b:6820' } };
}

class EventfulSource implements SlurmSource {
  readonly name = 'rest' as const;
  jobs: Job[] = [];
  fail = false;
  waiting: FleetEvent[] = [];
  private listeners: (() => void)[] = [];

  async poll(): Promise<PollResult> {
    if (this.fail) throw new Error('slurmrestd unreachable');
    const model: ClusterModel = emptyClusterModel();
    model.job = this.jobs.map((j) => ({ ...j }));
    return { model, unchanged: new Set(), failed: new Map(), apiVersion: 'v0.0.41', endpoint: 'http://a:6820' };
  }

  async execute(): Promise<CommandOutcome> {
    return { ok: true, message: '', via: 'test' };
  }

  async close(): Promise<void> {}

  takeEvents(): FleetEvent[] {
    const e = this.waiting;
    this.waiting = [];
    return e;
  }

  onEvents(listener: () => void): void {
    this.listeners.push(listener);
  }

  emit(e: FleetEvent): void {
    this.waiting.push(e);
    for (const l of this.listeners) l();
  }
}

const spools: DeltaSpool[] = [];
afterEach(() => {
  for (const s of spools.splice(0)) s.close();
});

function setup() {
  const source = new EventfulSource();
  const spool = DeltaSpool.open(mkdtempSync(join(tmpdir(), 'spool-')), { cluster: 'c1', maxBytes: 1 << 20 }, { logger });
  spools.push(spool);
  const pipeline = new AgentPipeline({ source, spool, logger }, { pollIntervalMs: 60_000 });
  return { source, spool, pipeline };
}

describe('AgentPipeline events', () => {
  it('holds events until the epoch has its snapshot, then sends them with changes or on their own', async () => {
    const { source, spool, pipeline } = setup();
    source.fail = true;
    source.waiting = [event('e1')];
    await pipeline.pollOnce();
    expect(spool.lastSeq).toBe(0); // no empty snapshot
    source.fail = false;
    source.jobs = [job(1)];
    await pipeline.pollOnce();
    expect(spool.unacked().map((d) => [d.seq, d.snapshot, d.upserts.length, d.events.map((e) => e.id)])).toEqual([[1, true, 1, ['e1']]]);

    // Nothing changed, but something happened: a delta with only the events.
    source.waiting = [event('e2'), event('e3')];
    await pipeline.pollOnce();
    expect(spool.unacked().slice(1).map((d) => [d.seq, d.snapshot, d.upserts.length, d.events.map((e) => e.id)])).toEqual([[2, false, 0, ['e2', 'e3']]]);

    // A failed poll still sends what the source saw happen.
    source.fail = true;
    source.waiting = [event('e4')];
    expect(await pipeline.pollOnce()).toBe(0);
    expect(spool.lastSeq).toBe(3);
    expect(spool.unacked()[2].events.map((e) => e.id)).toEqual(['e4']);
    expect(pipeline.stats.events).toBe(4);
  });

  it('does not wait for the next poll: events the source reports between polls are spooled together at once', async () => {
    const { source, spool, pipeline } = setup();
    source.jobs = [job(1)];
    pipeline.start();
    for (let i = 0; i < 100 && spool.lastSeq === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(spool.lastSeq).toBe(1);
    source.emit(event('down'));
    source.emit(event('failover'));
    await new Promise((r) => setImmediate(r));
    expect(spool.lastSeq).toBe(2);
    expect(spool.unacked()[1].events.map((e) => e.id)).toEqual(['down', 'failover']);
    await pipeline.stop();
  });
});
