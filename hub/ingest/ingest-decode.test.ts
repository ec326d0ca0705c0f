import { describe, expect, it } from 'vitest';
import { AgentMessage, type Delta } from '../../generated/fleet/v1/agent.js';
import { refOf } from '../../shared/delta/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { wrapObject, type Job, type Node } from '../../shared/model/index.js';
import { CommandRouter } from '../commands/index.js';
import { FleetState } from '../fleet/index.js';
import { HubPipeline } from '../pipeline.js';
import { IngestRegistry } from './ingest-registry.js';

function job(id: number, extra: Partial<Job> = {}): Job {
  return {
    cluster: 'c1', id, name: `j${id}`, user: 'alice', account: 'ml', partition: 'gpu', qos: 'normal', state: 'PENDING', state_flags: [],
    state_reason: 'Priority', nodes: [], node_list: '', cpus: 4, node_count: 1, working_dir: '/home/alice', comment: '', tres: 'cpu=4',
    submit_time: '2026-01-01T00:00:00Z', priority: 10, ...extra,
  };
}

function node(name: string, extra: Partial<Node> = {}): Node {
  return {
    cluster: 'c1', name, state: 'IDLE', flags: [], reason: '', cpus: 64, alloc_cpus: 0, memory_mb: 1024, alloc_memory_mb: 0, free_memory_mb: 1024,
    partitions: ['gpu'], features: [], gres: '', cpu_load: 0, reason_set_by: '', address: name, hostname: name, slurm_version: '24.05', ...extra,
  };
}

function frame(seq: number, jobs: Job[], nodes: Node[], extra: Partial<Delta> = {}): Uint8Array {
  const delta: Delta = {
    cluster: 'c1', epoch: 5, seq, upserts: [...jobs.map((j) => wrapObject('job', j)), ...nodes.map((n) => wrapObject('node', n))], removals: [],
    observed_at: '2026-01-01T00:00:00Z', snapshot: false, events: [], snapshot_part: 0, snapshot_parts: 0, ...extra,
  };
  return AgentMessage.encode({ body: { $case: 'delta', value: delta } }).finish();
}

/**
 * The hub's delta decoder reuses the strings of the stored objects: the state it builds must be
 * the one the generated decoder builds, update after update, with removals and snapshots.
 */
describe('ingest decoding against the stored objects', () => {
  const state = new FleetState();
  const pipeline = new HubPipeline({ state });
  const registry = new IngestRegistry({ path: pipeline, state, commands: new CommandRouter({ timeoutMs: 1000 }), logger: silentLogger(), hubId: 'h', heartbeatMs: 1000 });
  const reference = new FleetState();

  function ingest(bytes: Uint8Array): void {
    const decoded = registry.service.connect.requestDeserialize(Buffer.from(bytes));
    expect(decoded).toEqual(AgentMessage.decode(bytes));
    if (decoded.body?.$case !== 'delta') throw new Error('not a delta');
    state.apply(decoded.body.value);
    const generated = AgentMessage.decode(bytes).body;
    if (generated?.$case === 'delta') reference.apply(generated.value);
    for (const kind of ['job', 'node'] as const) expect([...state.clusters.get('c1')!.objects[kind]]).toEqual([...reference.clusters.get('c1')!.objects[kind]]);
    expect(state.jobs.lookup('state', 'RUNNING')).toEqual(reference.jobs.lookup('state', 'RUNNING'));
    expect(state.jobs.lookup('node', 'n2')).toEqual(reference.jobs.lookup('node', 'n2'));
  }

  it('sees every change, removal and snapshot replacement', () => {
    ingest(frame(1, [job(1), job(2), job(3)], [node('n1'), node('n2')], { snapshot: true }));
    expect(pipeline.decoder.stats.fast).toBe(1);
    // Updates: a job starts on n2 (state, nodes, times change), another only changes priority.
    ingest(frame(2, [job(1, { state: 'RUNNING', state_reason: 'None', nodes: ['n2'], node_list: 'n2', start_time: '2026-01-01T00:05:00Z' }), job(2, { priority: 11 })], [node('n2', { state: 'MIXED', alloc_cpus: 4 })]));
    expect(state.job('c1', '1')).toMatchObject({ state: 'RUNNING', nodes: ['n2'], start_time: '2026-01-01T00:05:00Z' });
    expect(state.jobs.lookup('node', 'n2')).toEqual(new Set(['c1/1']));
    // Back to pending: the start time goes away, the node list empties; a job is removed.
    ingest(frame(3, [job(1, { state: 'PENDING', nodes: [], node_list: '', start_time: undefined })], [], { removals: [refOf('job', '3')] }));
    expect(state.job('c1', '1')!.start_time).toBeUndefined();
    expect(state.job('c1', '3')).toBeUndefined();
    expect(state.jobs.lookup('node', 'n2')).toEqual(new Set());
    // Same-length text that differs in one character (a time, a user) is still seen.
    ingest(frame(4, [job(2, { user: 'alicf', submit_time: '2026-01-01T00:00:01Z' })], [node('n1', { partitions: ['gpv'] })]));
    expect(state.job('c1', '2')).toMatchObject({ user: 'alicf', submit_time: '2026-01-01T00:00:01Z' });
    expect(state.jobs.lookup('user', 'alicf')).toEqual(new Set(['c1/2']));
    // A snapshot replaces everything: what it leaves out is gone.
    ingest(frame(5, [job(2), job(4, { state: 'RUNNING', nodes: ['n1'] })], [node('n1')], { snapshot: true }));
    expect([...state.clusters.get('c1')!.objects.job.keys()]).toEqual([2, 4]);
    expect([...state.clusters.get('c1')!.objects.node.keys()]).toEqual(['n1']);
    expect(state.job('c1', '2')!.user).toBe('alice');
    expect(pipeline.decoder.stats).toEqual({ fast: 5, generated: 0 });
  });
});
