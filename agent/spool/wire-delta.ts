// A delta encoded once, for both places it goes: the spool record (the Delta's own protobuf
// encoding) and the stream message (AgentMessage{delta}, field 2). A length-delimited field is
// its tag, its length and the embedded message's own bytes, so the record is a view into the
// message: no second encoding and no copy per send. At 100k jobs a snapshot is ~18 MB
// encoded and each encoding also allocates its size again in intermediate chunks.
import { AgentMessage, type Delta } from '../../generated/fleet/v1/agent.js';

/** AgentMessage{delta} bytes, ready for the stream (the stream's serializer passes them through). */
export type WireDelta = Uint8Array & { readonly __wireDelta: true };

/** AgentMessage field 2 (delta), wire type 2 (length-delimited). */
const DELTA_TAG = (2 << 3) | 2;

export function encodeForWire(delta: Delta): { wire: WireDelta; record: Uint8Array } {
  const wire = AgentMessage.encode({ body: { $case: 'delta', value: delta } }).finish() as WireDelta;
  return { wire, record: recordOf(wire) };
}

/** The Delta bytes inside an encoded AgentMessage{delta}. */
export function recordOf(wire: Uint8Array): Uint8Array {
  if (wire[0] !== DELTA_TAG) throw new Error('not an encoded AgentMessage{delta}');
  let length = 0;
  let shift = 0;
  let i = 1;
  for (;;) {
    const b = wire[i++];
    if (b === undefined || shift > 28) throw new Error('bad length in an encoded AgentMessage{delta}');
    length += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
    shift += 7;
  }
  if (i + length !== wire.length) throw new Error('length mismatch in an encoded AgentMessage{delta}');
  return wire.subarray(i);
}

/** AgentMessage{delta} around a spooled record (a delta read back from deltas.log). */
export function wireOfRecord(record: Uint8Array): WireDelta {
  const prefix: number[] = [DELTA_TAG];
  let n = record.length;
  while (n >= 0x80) {
    prefix.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  prefix.push(n);
  const wire = new Uint8Array(prefix.length + record.length);
  wire.set(prefix, 0);
  wire.set(record, prefix.length);
  return wire as WireDelta;
}

export function isWireDelta(value: unknown): value is WireDelta {
  return value instanceof Uint8Array;
}
