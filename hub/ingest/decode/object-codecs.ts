// The decoders of the fleet's object messages (Job, Node... the members of FleetObject), made
// from the field table at load: one object literal and one switch per kind, as ts-proto writes
// them, reading through the fast decoder's scalars (Reader).
import { Account, Association, ControllerDiag, ControllerHealth, Job, Node, Partition, Qos, Reservation } from '../../../generated/fleet/v1/model.js';
import { FIELD_TABLE, WIRE, type ObjectFieldType, type ScalarType } from './field-table.js';

/** What an object decoder reads through (FastDeltaDecoder). */
export interface Reader {
  buf: Uint8Array;
  pos: number;
  byte(): number;
  string(intern: boolean, prev?: string): string;
  uint64(): number;
  uint32(): number;
  int32(): number;
  bool(): boolean;
  double(): number;
  varint32(): number;
  /** The end of a length-delimited field of `len` bytes from the position (bails past the input). */
  bounded(len: number): number;
  prev(kind: ObjKind, cluster: string, key: number | string): Record<string, unknown> | undefined;
}

export type ScalarSpec = readonly [number, string, ScalarType];
/** An object kind's field: a scalar, or a 'gmessage' with its message type. */
export type ObjectSpec = readonly [number, string, ObjectFieldType, string?];

/**
 * The messages a 'gmessage' field holds, read by their generated decoders. Bytes such a decoder
 * throws on (a RangeError of the wire reader) leave the message to the generated decoder of the
 * whole delta, which refuses it as malformed: found by the delta-decode fuzz target.
 */
const GENERATED_MESSAGES: Record<string, { decode(b: Uint8Array): unknown }> = Object.fromEntries(
  Object.entries({ ControllerDiag }).map(([name, codec]) => [
    name,
    {
      decode(b: Uint8Array): unknown {
        try {
          return codec.decode(b);
        } catch {
          throw BAIL;
        }
      },
    },
  ]),
);

/** A value with every field set of each 'gmessage' type (the self-check's sample). */
const SAMPLE_MESSAGES: Record<string, (n: number) => unknown> = {
  ControllerDiag: (n) => {
    const d = ControllerDiag.decode(new Uint8Array(0)) as unknown as Record<string, unknown>;
    for (const k of Object.keys(d)) if (typeof d[k] === 'number') d[k] = 2 ** 40 + n++;
    d.rpcs_by_type = [{ name: 'REQUEST_PING', count: 3, total_time_us: 2 ** 41 }];
    d.rpcs_by_user = [{ name: 'root', count: 2, total_time_us: 7 }, { name: '', count: 1, total_time_us: 0 }];
    return d;
  },
};

/** FleetObject's oneof, in field-number order (job = 1 ... controller = 8). */
export const KIND_ORDER = ['job', 'node', 'partition', 'reservation', 'qos', 'account', 'association', 'controller'] as const;
export type ObjKind = (typeof KIND_ORDER)[number];

/** Per object kind, its message's fields as the table has them (scalars and 'gmessage'). */
const SPECS = Object.fromEntries(FIELD_TABLE.FleetObject.map(([, kind, , message]) => [kind, FIELD_TABLE[message]])) as unknown as Record<ObjKind, readonly ObjectSpec[]>;

const GENERATED: Record<ObjKind, { decode(b: Uint8Array): unknown; encode(m: never): { finish(): Uint8Array } }> = {
  job: Job,
  node: Node,
  partition: Partition,
  reservation: Reservation,
  qos: Qos,
  account: Account,
  association: Association,
  controller: ControllerHealth,
};

/**
 * The stored version of an object, by its cluster and key (a job's numeric id, a node's name), so
 * the decoder can reuse the stored strings that the new bytes repeat (most of them: an update
 * changes a few fields) instead of making new ones. Only equal text is reused: the result is the
 * same as without it, with fewer strings to allocate and hash.
 */
export interface PreviousObjects {
  job?(cluster: string, id: number): object | undefined;
  node?(cluster: string, name: string): object | undefined;
}

/** Per kind, the field that keys PreviousObjects (read right after it). */
const PREVIOUS_KEY: Partial<Record<ObjKind, string>> = { job: 'id', node: 'name' };

/** Decodes one message of a kind from the reader's position up to `end`. */
export type MessageDecoder = (reader: Reader, end: number) => Record<string, unknown>;

/** Thrown (one shared instance) when the fast path leaves the message to the generated decoder. */
class Bail {}
export const BAIL = new Bail();

export function buildCodec(kind: ObjKind): MessageDecoder | undefined {
  // The generated decoder's defaults and key order: decode nothing.
  const template = GENERATED[kind].decode(new Uint8Array(0)) as Record<string, unknown>;
  const keys = Object.keys(template);
  const specs = SPECS[kind];
  // Our table must name exactly the message's fields, or the proto changed under us.
  if (keys.length !== specs.length || !specs.every(([, key]) => keys.includes(key))) return undefined;
  // One object literal per kind, built from the template, keeps V8's object shapes stable.
  const literal = keys
    .map((key) => {
      const v = template[key];
      return `${JSON.stringify(key)}: ${Array.isArray(v) ? '[]' : v === undefined ? 'undefined' : JSON.stringify(v)}`;
    })
    .join(', ');
  // A switch on the whole tag with a fixed property per case: what ts-proto generates, with
  // this reader's scalars. Tags of fields 16+ take two bytes.
  const previousKey = PREVIOUS_KEY[kind];
  const cases = specs
    .map(([no, key, type, message]) => {
      if (type === 'gmessage') {
        // Small and rare (a controller's diag): its generated decoder, on just its bytes.
        if (!message || !GENERATED_MESSAGES[message]) throw new Error(`no generated decoder for ${message}`);
        return `case ${(no << 3) | 2}: { const len = r.varint32(); const to = r.bounded(len); m[${JSON.stringify(key)}] = G[${JSON.stringify(message)}].decode(buf.subarray(r.pos, to)); r.pos = to; } break;`;
      }
      const tag = (no << 3) | WIRE[type];
      const name = JSON.stringify(key);
      const prop = `m[${name}]`;
      // The stored version's value (its list's element at the same place), when there is one.
      const prev = key === previousKey ? '' : `, p === undefined ? undefined : p[${name}]`;
      const prevAt = `, p === undefined || p[${name}] === undefined ? undefined : p[${name}][${prop}.length]`;
      const read: Record<ScalarType, string> = {
        string: `${prop} = r.string(false${prev});`,
        istring: `${prop} = r.string(true${prev});`,
        rstring: `${prop}.push(r.string(false${prevAt}));`,
        ristring: `${prop}.push(r.string(true${prevAt}));`,
        uint64: `${prop} = r.uint64();`,
        uint32: `${prop} = r.uint32();`,
        int32: `${prop} = r.int32();`,
        bool: `${prop} = r.bool();`,
        double: `${prop} = r.double();`,
      };
      // Right after the key: look the stored version up by the cluster read before it.
      const lookup = key === previousKey ? ` p = r.prev(${JSON.stringify(kind)}, m.cluster, ${prop});` : '';
      return `case ${tag}: ${read[type]}${lookup} break;`;
    })
    .join('\n      ');
  // Lists equal to the stored version's are that list: the new one dies young (never copied by
  // the GC) and index upkeep sees an unchanged list at once. Nothing mutates stored lists.
  const lists = specs.filter(([, , type]) => type === 'rstring' || type === 'ristring').map(([, key]) => JSON.stringify(key));
  const reuseLists = previousKey
    ? `\n    if (p !== undefined) {\n${lists.map((k) => `      if (sameList(m[${k}], p[${k}])) m[${k}] = p[${k}];`).join('\n')}\n    }`
    : '';
  const source = `return function decode_${kind}(r, end) {
    const m = { ${literal} };
    const buf = r.buf;
    let p = undefined;
    while (r.pos < end) {
      let tag = buf[r.pos++];
      if (tag >= 0x80) { tag = (tag & 0x7f) | (r.byte() << 7); if (tag >= 0x4000) throw BAIL; }
      switch (tag) {
      ${cases}
      default: throw BAIL;
      }
    }
    if (r.pos !== end) throw BAIL;${reuseLists}
    return m;
  };`;
  return new Function('BAIL', 'sameList', 'G', source)(BAIL, sameList, GENERATED_MESSAGES) as MessageDecoder;
}

/**
 * Makes V8 keep the kind's number fields as tagged values rather than as boxed doubles. Objects
 * made by the same literal share a hidden class; once any of them holds a number that is not a
 * small integer (a 2^45 id in the self-check, a large priority), each numeric field would become
 * a double field, and every later object would allocate a heap box per numeric field (a dozen per
 * job, and as many writes through them). Storing a non-number once makes the fields tagged:
 * small integers are then stored in place and only the rare large number gets a box.
 */
export function taggedNumbers(kind: ObjKind, probe: Record<string, unknown>): void {
  for (const [, key, type] of SPECS[kind]) {
    if (type === 'uint64' || type === 'uint32' || type === 'int32' || type === 'double') probe[key] = undefined;
  }
}

/** A value for every field of a kind, chosen so each field type is exercised. */
export function sampleObject(kind: ObjKind): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  let n = 1;
  for (const [, key, type, message] of SPECS[kind]) {
    n++;
    switch (type) {
      case 'gmessage':
        o[key] = SAMPLE_MESSAGES[message!]!(n);
        break;
      case 'string':
      case 'istring':
        o[key] = `${key}-é-${n}`;
        break;
      case 'rstring':
      case 'ristring':
        o[key] = [`${key}a`, '', `${key}b`];
        break;
      case 'uint64':
        o[key] = 2 ** 45 + n;
        break;
      case 'uint32':
        o[key] = 4_000_000_000 + n;
        break;
      case 'int32':
        o[key] = 2_000_000_000 + n;
        break;
      case 'bool':
        o[key] = true;
        break;
      case 'double':
        o[key] = 1.5 + n;
        break;
    }
  }
  return o;
}

/** Two lists of strings with the same elements (the stored one may be missing). */
function sameList(a: string[], b: string[] | undefined): boolean {
  if (b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
