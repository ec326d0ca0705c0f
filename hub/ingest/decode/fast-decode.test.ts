import { describe, expect, it } from 'vitest';
import { AgentMessage, Delta } from '../../../generated/fleet/v1/agent.js';
import { SimEngine, toClusterModel } from '../../../sim/index.js';
import { KINDS, wrapObject, type FleetObject, type Job, type Node } from '../../../shared/model/index.js';
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
  return { cluster: 'fast', epoch: 1_764_000_000_123_456, seq: 42, upserts, removals: [{ kind: 1, id: '17' }], observed_at: '2026-01-01T00:00:00Z', snapshot: false, events: [], snapshot_part: 0, snapshot_parts: 0, traceparent: undefined, ...extra };
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

  it("decodes a controller's diag statistics on the fast path", () => {
    const diag = {
      schedule_cycle_last_us: 30, schedule_cycle_mean_us: 34, schedule_cycle_max_us: 49, schedule_cycles: 4, backfill_cycle_last_us: 0, backfill_cycle_mean_us: 0,
      backfill_cycle_max_us: 0, backfill_cycles: 0, backfilled_jobs: 0, jobs_submitted: 12, jobs_started: 11, jobs_completed: 9, jobs_canceled: 1, jobs_failed: 2 ** 40,
      rpcs_by_type: [{ name: 'REQUEST_PING', count: 3, total_time_us: 1326 }, { name: 'REQUEST_JOB_INFO', count: 0, total_time_us: 0 }],
      rpcs_by_user: [{ name: 'root', count: 11, total_time_us: 8127 }, { name: '', count: 2, total_time_us: 448 }],
    };
    const controller = { cluster: 'fast', hostname: 'ctl', responding: true, mode: 'primary', api_version: 'v0.0.38', slurm_version: '22.05.8', server_thread_count: 3, diag };
    const before = decoder.stats.fast;
    const d = expectSame(Delta.encode(delta([wrapObject('controller', controller), wrapObject('controller', { ...controller, hostname: 'ctl2', diag: undefined })])).finish());
    expect(decoder.stats.fast).toBe(before + 1);
    expect((d.upserts[0].kind!.value as { diag?: unknown }).diag).toEqual(diag);
    expect((d.upserts[1].kind!.value as { diag?: unknown }).diag).toBeUndefined();
  });

  it('decodes the snapshot part fields on the fast path', () => {
    const decoder2 = new FastDeltaDecoder();
    expect(decoder2.enabled).toBe(true);
    const d = expectSame(Delta.encode(delta([], { snapshot: true, snapshot_part: 2, snapshot_parts: 3 })).finish());
    expect([d.snapshot_part, d.snapshot_parts]).toEqual([2, 3]);
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

  // Found by the delta-decode fuzz target (npm run fuzz): a node whose cpu_load bytes are a NaN
  // double made the two decoders look different, since NaN !== NaN.
  it('a double holding NaN decodes alike on both paths, and sameStructure says so', () => {
    const node = simulatedUpserts().filter((o) => o.kind?.$case === 'node').slice(0, 1);
    (node[0].kind!.value as Node).cpu_load = Number.NaN;
    const fast = expectSame(Delta.encode(delta(node)).finish());
    expect((fast.upserts[0].kind!.value as Node).cpu_load).toBeNaN();
    expect(sameStructure({ a: Number.NaN }, { a: 0 })).toBe(false);
  });

  it('bytes that are not a message are refused with the typed SF_INGEST_MALFORMED_MESSAGE, on both entry points', () => {
    const known = Delta.encode(delta(simulatedUpserts().slice(0, 3))).finish();
    const cut = known.subarray(0, known.length - 7);
    expect(() => decoder.decodeDelta(cut)).toThrow(expect.objectContaining({ code: 'SF_INGEST_MALFORMED_MESSAGE', message: expect.stringMatching(/^not a valid Delta message: /) }));
    const message = AgentMessage.encode({ body: { $case: 'delta', value: delta([]) } }).finish();
    const bad = Buffer.concat([message, Buffer.from([0x12, 0x40, 0x01])]);
    expect(() => decoder.decodeAgentMessage(bad)).toThrow(expect.objectContaining({ code: 'SF_INGEST_MALFORMED_MESSAGE', message: expect.stringMatching(/^not a valid AgentMessage message: /) }));
  });

  it("a controller diag its generated decoder throws on leaves the delta to the generated decoder, not the wire reader's RangeError (fuzz finding)", () => {
    // The delta-decode fuzz target's finding (CI of this session), first byte dropped as the target does.
    const found = Buffer.from(
      'AAoCYzAQAxgFIgRCd3JwTU3xEE1NTU1NTU1NTU1NTU1NTU3RTU1NTU1NTU1Nek1NTU1NTRhJGBgYGBgYGBgYGBgYCQkJCQkJCQkJCQkJCQkJTU0BWmN0byZamgEnX3AAAAAAAAAA/wByb3RvX18AAAAA2gEa1wEKAmMxEIgGQjAyMy1jb/8r////////B19wcm90b19fb3IxMS0xNFQyMjEQAxgxEgVuARqoEhISEhISEhISEgRyb290kgEUMjAyMS0xMS0xNFQyMzoxM2NvMQUSZCUlJSUlJSUlJSUlJSUlJSUlJSUlJWUwGjBa',
      'base64',
    ).subarray(1);
    expect(decoder.decodeDelta(found)).toEqual(Delta.decode(found));
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

  describe('with the stored versions of objects (previous)', () => {
    const base: Job = {
      cluster: 'fast', id: 77, name: 'train', user: 'alice', account: 'ml', partition: 'gpu', qos: 'normal', state: 'RUNNING',
      state_flags: ['REQUEUED'], state_reason: 'None', nodes: ['n1', 'n2'], node_list: 'n[1-2]', cpus: 8, node_count: 2, working_dir: '/home/alice',
      comment: '', tres: 'cpu=8', exit_code: 0, priority: 100, array_task_id: 0, submit_time: '2026-01-01T00:00:00Z', start_time: '2026-01-01T00:01:00Z',
    };

    /** A decoder whose previous versions are `stored` (by cluster and id / name), and the lookups it made. */
    function withStored(stored: Job[], nodes: Node[] = []): { decoder: FastDeltaDecoder; asked: string[] } {
      const d = new FastDeltaDecoder();
      const asked: string[] = [];
      d.previous = {
        job: (cluster, id) => {
          asked.push(`job ${cluster}/${id}`);
          return stored.find((j) => j.cluster === cluster && j.id === id);
        },
        node: (cluster, name) => {
          asked.push(`node ${cluster}/${name}`);
          return nodes.find((n) => n.cluster === cluster && n.name === name);
        },
      };
      return { decoder: d, asked };
    }

    function same(d: FastDeltaDecoder, bytes: Uint8Array): Delta {
      const fast = d.decodeDelta(bytes);
      expect(sameStructure(fast, Delta.decode(bytes))).toBe(true);
      return fast;
    }

    it('sees every changed field, whatever the stored version holds', () => {
      const { decoder: d, asked } = withStored([base]);
      const changed: Job = {
        ...base, name: 'trainX', user: 'bob', state: 'PENDING', state_flags: [], state_reason: 'Priority', nodes: ['n1', 'n3', 'n4'],
        node_list: 'n[1,3-4]', priority: 101, start_time: undefined, end_time: '2026-01-02T00:00:00Z', submit_time: '2026-01-01T00:00:01Z', working_dir: '/home/alicf',
      };
      const got = same(d, Delta.encode(delta([wrapObject('job', changed)])).finish()).upserts[0].kind!.value as Job;
      expect(asked).toEqual(['job fast/77']);
      expect(got).toMatchObject({ name: 'trainX', user: 'bob', state: 'PENDING', nodes: ['n1', 'n3', 'n4'], submit_time: '2026-01-01T00:00:01Z', working_dir: '/home/alicf' });
      expect(got.start_time).toBeUndefined();
      // Fewer list elements than stored, and unchanged ones: still the new bytes' values.
      const fewer = same(d, Delta.encode(delta([wrapObject('job', { ...base, nodes: ['n2'], state_flags: ['REQUEUED', 'X'] })])).finish()).upserts[0].kind!.value as Job;
      expect(fewer.nodes).toEqual(['n2']);
      expect(fewer.state_flags).toEqual(['REQUEUED', 'X']);
      expect(fewer.name).toBe('train');
    });

    it('shares a stored list only when the update repeats it exactly', () => {
      const stored = { ...base };
      const { decoder: d } = withStored([stored]);
      const same1 = same(d, Delta.encode(delta([wrapObject('job', { ...base, priority: 5 })])).finish()).upserts[0].kind!.value as Job;
      expect(same1.nodes).toBe(stored.nodes);
      expect(same1.state_flags).toBe(stored.state_flags);
      const moved = same(d, Delta.encode(delta([wrapObject('job', { ...base, nodes: ['n1', 'n2', 'n3'], state_flags: [] })])).finish()).upserts[0].kind!.value as Job;
      expect(moved.nodes).not.toBe(stored.nodes);
      expect(moved.nodes).toEqual(['n1', 'n2', 'n3']);
      expect(moved.state_flags).toEqual([]);
      expect(stored.nodes).toEqual(['n1', 'n2']);
    });

    it('does not mistake UTF-8 bytes for a stored string whose char codes spell them', () => {
      // "é" is C3 A9 in UTF-8; the two-char string "Ã©" has exactly those char codes.
      const { decoder: d } = withStored([{ ...base, name: '\u00c3\u00a9', comment: 'caf\u00e9' }]);
      const got = same(d, Delta.encode(delta([wrapObject('job', { ...base, name: 'é', comment: 'café' })])).finish()).upserts[0].kind!.value as Job;
      expect(got.name).toBe('é');
      expect(got.comment).toBe('café');
    });

    it('looks up by the object\'s own cluster and key, and decodes as usual when nothing is stored', () => {
      const node: Node = {
        cluster: 'fast', name: 'n1', state: 'IDLE', flags: [], reason: '', cpus: 64, alloc_cpus: 0, memory_mb: 1024, alloc_memory_mb: 0, free_memory_mb: 512,
        partitions: ['gpu'], features: ['a100'], gres: 'gpu:4', cpu_load: 0.5, reason_set_by: '', address: 'n1', hostname: 'n1', slurm_version: '24.05',
      };
      const { decoder: d, asked } = withStored([{ ...base, cluster: 'other' }], [node]);
      const bytes = Delta.encode(
        delta([wrapObject('job', { ...base, id: 78 }), wrapObject('job', { ...base, user: 'carol' }), wrapObject('node', { ...node, state: 'MIXED', partitions: ['gpu', 'cpu'] })], {
          removals: [{ kind: 1, id: '77' }],
        }),
      ).finish();
      const got = same(d, bytes);
      expect(asked).toEqual(['job fast/78', 'job fast/77', 'node fast/n1']);
      expect((got.upserts[1].kind!.value as Job).user).toBe('carol');
      expect((got.upserts[2].kind!.value as Node).partitions).toEqual(['gpu', 'cpu']);
      expect(got.removals).toEqual([{ kind: 1, id: '77' }]);
    });
  });
});
