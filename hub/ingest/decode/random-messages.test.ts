// Property test: thousands of random deltas, made from the proto's own field list (every field
// reachable from Delta, each kind of value: unset optionals, empty strings and lists, long and
// non-ASCII text, numbers up to 2^53 - 1, negative int32, events with maps, snapshot parts),
// encoded by the generated code and decoded by both decoders: the same, key for key.
import { describe, expect, it } from 'vitest';
import { AgentMessage, Delta } from '../../../generated/fleet/v1/agent.js';
import { FastDeltaDecoder, sameStructure } from './fast-decode.js';
import { FIELD_TABLE, type FieldSpec } from './field-table.js';
import { readProtoSchema, type ProtoField } from './testdata/proto-schema.js';

const schema = readProtoSchema();
const table = FIELD_TABLE as Record<string, readonly FieldSpec[]>;

/** mulberry32: a small seeded PRNG, so a failure is the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class RandomMessages {
  /** The message holds something the fast path leaves to the generated decoder. */
  slow = false;
  constructor(private readonly random: () => number) {}

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)];
  }

  private int(max: number): number {
    return Math.floor(this.random() * (max + 1));
  }

  private text(): string {
    switch (this.int(6)) {
      case 0:
        return '';
      case 1:
        // The short values the fleet repeats (the intern table's case).
        return this.pick(['c1', 'alice', 'RUNNING', 'PENDING', 'gpu', 'n001', 'normal', 'ml']);
      case 2:
        return Array.from({ length: this.int(60) }, () => String.fromCharCode(32 + this.int(94))).join('');
      case 3:
        // Longer than the intern limit and than a one-byte length.
        return 'x'.repeat(100 + this.int(200));
      case 4:
        return this.pick(['é', 'ünïcode ☃', '日本語', '😀 emoji', 'Ã©', 'caf\u00e9']);
      default:
        return `n${this.int(20)}`;
    }
  }

  private scalar(type: string, field: string): unknown {
    switch (type) {
      case 'string':
        return this.text();
      case 'uint64':
        return this.pick([0, 1, this.int(1000), 2 ** 31, 2 ** 32, 2 ** 53 - 1, Math.floor(this.random() * 2 ** 53)]);
      case 'uint32':
        return this.pick([0, 1, this.int(1000), 2 ** 31, 2 ** 32 - 1, this.int(2 ** 32 - 1)]);
      case 'int32': {
        const v = this.pick([0, 1, this.int(1000), 2 ** 31 - 1, -1, -(2 ** 31)]);
        // Ten bytes on the wire: left to the generated decoder.
        if (v < 0) this.slow = true;
        return v;
      }
      case 'bool':
        return this.random() < 0.5;
      case 'double':
        return this.pick([0, 0.5, -1.5, 1e300, Number.MIN_VALUE, Infinity, this.random() * 1e6 - 5e5]);
      default:
        throw new Error(`no random value for ${type} (${field})`);
    }
  }

  private value(f: ProtoField): unknown {
    if (f.map) return Object.fromEntries(Array.from({ length: this.int(3) }, () => [this.text(), this.text()]));
    const enumValues = schema.enums.get(f.type);
    const one = (): unknown => (enumValues ? this.pick(enumValues) : schema.messages.has(f.type) ? this.message(f.type) : this.scalar(f.type, f.name));
    if (f.repeated) return Array.from({ length: this.int(schema.messages.has(f.type) ? 6 : 4) }, one);
    return one();
  }

  /** A random message of a type, in ts-proto's shape (oneofs as {$case, value}). */
  message(type: string): Record<string, unknown> {
    const fields = schema.messages.get(type)!;
    const out: Record<string, unknown> = {};
    const oneofs = new Map<string, ProtoField[]>();
    for (const f of fields) {
      if (f.oneof) {
        oneofs.set(f.oneof, [...(oneofs.get(f.oneof) ?? []), f]);
        continue;
      }
      // Rare fields (a delta's events) in one message of ten.
      if (type === 'Delta' && f.name === 'events' && this.random() > 0.1) {
        out[f.name] = [];
        continue;
      }
      if (f.optional && this.random() < 0.3) continue;
      out[f.name] = this.value(f);
      if (table[type]?.find(([no]) => no === f.number)?.[2] === 'generated' && (out[f.name] as unknown[]).length > 0) this.slow = true;
    }
    for (const [name, members] of oneofs) {
      if (this.random() < 0.05) continue;
      const f = this.pick(members);
      out[name] = { $case: f.name, value: this.value(f) };
    }
    return out;
  }
}

describe('the fast decoder on random deltas', () => {
  it('decodes 3000 random deltas exactly as the generated decoder does, on the fast path when it can', () => {
    const random = prng(20261206);
    const decoder = new FastDeltaDecoder();
    expect(decoder.enabled).toBe(true);
    // Stored versions to reuse strings from: the objects decoded before, by cluster and key.
    const stored = new Map<string, object>();
    decoder.previous = { job: (c, id) => stored.get(`job/${c}/${id}`), node: (c, name) => stored.get(`node/${c}/${name}`) };
    let fast = 0;
    let slow = 0;
    for (let i = 0; i < 3000; i++) {
      const gen = new RandomMessages(random);
      const delta = Delta.fromPartial(gen.message('Delta') as Parameters<typeof Delta.fromPartial>[0]);
      const bytes = Delta.encode(delta).finish();
      const expected = Delta.decode(bytes);
      const before = decoder.stats.fast;
      const got = decoder.decodeDelta(bytes);
      if (!sameStructure(got, expected)) expect(got).toEqual(expected);
      expect(sameStructure(got, expected), `delta ${i}`).toBe(true);
      // Same through the stream's path, with the delta's own bytes handed on.
      const wire = AgentMessage.encode({ body: { $case: 'delta', value: delta } }).finish();
      let seen: Uint8Array | undefined;
      const message = decoder.decodeAgentMessage(wire, (_d, encoded) => (seen = encoded));
      expect(sameStructure(message, AgentMessage.decode(wire)), `message ${i}`).toBe(true);
      expect(sameStructure(Delta.decode(seen!), expected), `bytes of message ${i}`).toBe(true);
      // Everything the table says it reads goes the fast way: a field it cannot read would not.
      expect(decoder.stats.fast - before, `delta ${i} on the ${gen.slow ? 'generated' : 'fast'} path`).toBe(gen.slow ? 0 : 2);
      if (gen.slow) slow++;
      else fast++;
      for (const o of got.upserts) {
        if (o.kind?.$case === 'job') stored.set(`job/${o.kind.value.cluster}/${o.kind.value.id}`, o.kind.value);
        if (o.kind?.$case === 'node') stored.set(`node/${o.kind.value.cluster}/${o.kind.value.name}`, o.kind.value);
      }
    }
    // Both paths were taken often.
    expect(fast).toBeGreaterThan(1000);
    expect(slow).toBeGreaterThan(300);
  });
});
