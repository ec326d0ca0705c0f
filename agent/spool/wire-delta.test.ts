import { describe, expect, it } from 'vitest';
import { AgentMessage, Delta } from '../../generated/fleet/v1/agent.js';
import { wrapObject, type Job } from '../../shared/model/index.js';
import { encodeForWire, recordOf, wireOfRecord } from './wire-delta.js';

function job(id: number): Job {
  return {
    cluster: 'c1', id, name: `j${id}`, user: 'bob', account: 'ops', partition: 'batch', qos: 'normal', state: 'RUNNING',
    state_flags: [], state_reason: 'None', nodes: [], node_list: '', cpus: 1, node_count: 1, working_dir: 'x'.repeat(id), comment: '', tres: '',
  };
}

function delta(jobs: number): Delta {
  const upserts = Array.from({ length: jobs }, (_, i) => wrapObject('job', job(i + 1)));
  return { cluster: 'c1', epoch: 7, seq: 3, upserts, removals: [], observed_at: '2026-01-01T00:00:00Z', snapshot: false, events: [], snapshot_part: 0, snapshot_parts: 0 };
}

describe('wire-delta', () => {
  // 0 jobs: a one-byte length; 2 and 300 jobs: two- and three-byte lengths.
  for (const jobs of [0, 2, 300]) {
    it(`encodes once: the stream message decodes to the delta, the spool record is the Delta itself (${jobs} jobs)`, () => {
      const d = delta(jobs);
      const { wire, record } = encodeForWire(d);
      const msg = AgentMessage.decode(wire);
      expect(msg.body?.$case).toBe('delta');
      expect(msg.body?.value).toEqual(Delta.decode(Delta.encode(d).finish()));
      expect(Buffer.from(record).equals(Buffer.from(Delta.encode(d).finish()))).toBe(true);
      // A record read back from the log becomes the same message again.
      expect(Buffer.from(wireOfRecord(record)).equals(Buffer.from(wire))).toBe(true);
    });
  }

  it('refuses bytes that are not an AgentMessage{delta}', () => {
    const hello = AgentMessage.encode({ body: { $case: 'hello', value: { cluster: 'c1', agent_name: 'a', epoch: 1, last_seq: 0, agent_version: '', slurm_api_version: '' } } }).finish();
    expect(() => recordOf(hello)).toThrow(/not an encoded AgentMessage\{delta\}/);
    const { wire } = encodeForWire(delta(2));
    expect(() => recordOf(wire.subarray(0, wire.length - 1))).toThrow(/length mismatch/);
  });
});
