import { describe, expect, it } from 'vitest';
import { AgentMessage, type Delta } from '../generated/fleet/v1/agent.js';
import { testJob } from '../shared/delta/testdata/fleet-fixtures.js';
import { FleetState } from './fleet/index.js';
import { HubPipeline } from './pipeline.js';

function delta(seq: number, over: Partial<Delta> = {}): Delta {
  return { cluster: 'a', epoch: 3, seq, upserts: [{ kind: { $case: 'job', value: testJob(seq) } }], removals: [], observed_at: '', snapshot: seq === 1, events: [], snapshot_part: 0, snapshot_parts: 0, ...over };
}

describe('the hub data path', () => {
  it('decode -> verify -> order -> durable (events, then the WAL with the received bytes) -> apply -> publish', async () => {
    const state = new FleetState();
    const steps: string[] = [];
    const pipeline = new HubPipeline({
      state,
      events: {
        record: (cluster, events) => {
          steps.push(`events ${cluster} ${events.length}`);
          return [];
        },
      },
      store: {
        appendBatchDurable: async (batch) => void steps.push(`wal ${batch.map((b) => `${b.delta.seq}:${b.encoded?.length ?? 'encode'}`).join(',')}`),
        maybeCheckpoint: (record) => void steps.push(`checkpoint ${record.seq}`),
      },
      onApplied: (d) => steps.push(`publish ${d.seq}`),
    });
    const bytes = Buffer.from(AgentMessage.encode({ body: { $case: 'delta', value: delta(1) } }).finish());
    const message = pipeline.decode(bytes);
    if (message.body?.$case !== 'delta') throw new Error('not a delta');
    const first = message.body.value;
    expect(pipeline.decoder.stats.fast).toBe(1);
    expect(pipeline.verify('a', first)).toBeUndefined();
    expect(pipeline.verify('b', first)?.code).toBe('SF_INGEST_WRONG_CLUSTER');
    expect(pipeline.verify('a', delta(2, { upserts: [{ kind: { $case: 'job', value: testJob(2, { cluster: 'b' }) } }] }))?.code).toBe('SF_INGEST_WRONG_CLUSTER');
    expect(pipeline.order(first)).toBe('apply');
    expect(pipeline.order(delta(2))).toBe('gap');
    await pipeline.durable('a', [first, delta(2)]);
    pipeline.apply(first);
    pipeline.publish(first);
    pipeline.checkpoint('a');
    expect(pipeline.position('a')).toEqual({ epoch: 3, seq: 1 });
    expect(pipeline.order(first)).toBe('duplicate');
    expect(pipeline.order(delta(2))).toBe('apply');
    // The received delta's bytes go to the WAL as they came; one made here has none to reuse.
    expect(steps).toEqual(['events a 0', 'events a 0', `wal 1:${bytes.length - 2},2:encode`, 'publish 1', 'checkpoint 1']);
    expect(state.job('a', '1')).toBeDefined();
  });
});
