import { describe, expect, it } from 'vitest';
import { AgentMessage, Delta } from '../../generated/fleet/v1/agent.js';
import { SimEngine, toClusterModel } from '../../sim/index.js';
import { KINDS, wrapObject, type FleetObject, type Job } from '../model/index.js';
import { FastDeltaDecoder, sameStructure } from './fast-decode.js';

const decoder = new FastDeltaDecoder();

function simulatedUpserts(): FleetObject[] {
  const engine = new SimEngine({ cluster: 'fast', nodes: 40, jobs: 300, seed: 7 }, { clock: { now: () => Date.UTC(2026, 0, 1) } });
  engine.tick(Date.UTC(2026, 0, 1, 0, 10));
  const model = toClusterModel(engine, { slurmVersion: '24.05.1', apiVersion: 'v0.0.41', controllerHost: 'ctl' });
  const out: FleetObject[] = [];
  for (const kind of KINDS) for (const o of model[kind]) out.push(wrapObject(kind, o as never));
  return out;
}

function delta(upserts: FleetObject[], extra: Partial<Delta> = {}): Delta {
  return { cluster: 'fast', epoch: 1_764_000_000_123_456, seq: 42, upserts, removals: [{ kind: 1, id: '17' }], observed_at: '2026-01-01T00:00:00Z', snapshot: false, events: [], ...extra };
}

/** Decodes with both and requires the same keys, order and values. */
function expectSame(bytes: Uint8Array): Delta {
  const fast = decoder.decodeDelta(bytes);
  const generated = Delta.decode(bytes);
  expect(fast).toEqual(generated);
  expect(sameStructure(fast, generated)).toBe(true);
  return fast;
}

describe('FastDeltaDecoder', () => {
  it('passes its own self-check against the generated decoder', () => {
    expect(decoder.enabled).toBe(true);
  });

  it('decodes every object kind of a simulated cluster exactly as the generated decoder does', () => {
    const upserts = simulatedUpserts();
    expect(new Set(upserts.map((o) => o.kind!.$case)).size).toBe(KINDS.length);
    const before = decoder.stats.fast;
    const d = expectSame(Delta.encode(delta(upserts, { snapshot: true })).finish());
    expect(d.upserts).toHaveLength(upserts.length);
    expect(decoder.stats.fast).toBe(before + 1);
  });

  it('keeps optional fields unset, empty strings and lists, non-ASCII text, large ids and doubles', () => {
    const job: Job = {
      cluster: 'fast', id: 2 ** 52 + 3, name: 'ünïcode ☃ job', user: '', account: 'acct', partition: 'a,b', qos: 'normal', state: 'PENDING',
      state_flags: ['REQUEUED', ''], state_reason: 'Priority', nodes: [], node_list: '', cpus: 0, node_count: 4_000_000_000, working_dir: '/home/ä',
      comment: '', tres: 'cpu=1', exit_code: 0, priority: 0, array_task_id: 0, submit_time: '2026-01-01T00:00:00Z',
    };
    const d = expectSame(Delta.encode(delta([wrapObject('job', job), wrapObject('job', { ...job, id: 5, exit_signal: 9 })])).finish());
    const first = d.upserts[0].kind!.value as Job;
    expect(first.start_time).toBeUndefined();
    expect(first.exit_code).toBe(0);
    expect(first.name).toBe('ünïcode ☃ job');
  });

  it('leaves what it does not handle to the generated decoder, with the same result or error', () => {
    const base = delta(simulatedUpserts().slice(0, 20));
    // events ride in field 8
    const generatedBefore = decoder.stats.generated;
    const withEvents = delta([], { events: [{ id: 'e1', cluster: 'fast', type: 't', severity: 'info', message: 'm', occurred_at: '', attributes: { a: 'b' } }] });
    expectSame(Delta.encode(withEvents).finish());
    // a negative int32 (ten bytes on the wire)
    const negative = simulatedUpserts().filter((o) => o.kind?.$case === 'job').slice(0, 1);
    (negative[0].kind!.value as Job).exit_code = -1;
    expectSame(Delta.encode(delta(negative)).finish());
    // an unknown field (a newer agent) is skipped by both
    const known = Delta.encode(base).finish();
    const unknown = Buffer.concat([known, Buffer.from([0xf8, 0x07, 0x01])]);
    expectSame(unknown);
    // uint64 above 2^53: both refuse
    const huge = Buffer.concat([Buffer.from(Delta.encode({ ...base, seq: 0 }).finish()), Buffer.from([0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])]);
    expect(() => Delta.decode(huge)).toThrow(/MAX_SAFE_INTEGER/);
    expect(() => decoder.decodeDelta(huge)).toThrow(/MAX_SAFE_INTEGER/);
    // truncated: both throw
    const cut = known.subarray(0, known.length - 7);
    expect(() => Delta.decode(cut)).toThrow();
    expect(() => decoder.decodeDelta(cut)).toThrow();
    expect(decoder.stats.generated - generatedBefore).toBe(5);
  });

  it('decodes agent messages and reports the exact bytes of a delta', () => {
    const d = delta(simulatedUpserts().slice(0, 50));
    const bytes = AgentMessage.encode({ body: { $case: 'delta', value: d } }).finish();
    let seen: Uint8Array | undefined;
    const msg = decoder.decodeAgentMessage(bytes, (_delta, encoded) => (seen = encoded));
    expect(sameStructure(msg, AgentMessage.decode(bytes))).toBe(true);
    expect(sameStructure(Delta.decode(seen!), d)).toBe(true);
    const hello = AgentMessage.encode({ body: { $case: 'hello', value: { cluster: 'c', agent_name: 'a', epoch: 1, last_seq: 2, agent_version: 'v', slurm_api_version: 'v0.0.41' } } }).finish();
    expect(decoder.decodeAgentMessage(hello)).toEqual(AgentMessage.decode(hello));
  });

  it('returns equal strings from its intern table for repeated values', () => {
    const upserts = simulatedUpserts();
    const a = decoder.decodeDelta(Delta.encode(delta(upserts)).finish());
    const b = decoder.decodeDelta(Delta.encode(delta(upserts)).finish());
    expect(a).toEqual(b);
    expect(sameStructure(a, Delta.decode(Delta.encode(delta(upserts)).finish()))).toBe(true);
  });
});
