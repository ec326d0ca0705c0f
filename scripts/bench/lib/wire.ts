// Hand-built AgentService frames for the simulated agents of the ingest benchmark. The bytes are
// ordinary fleet.v1 protobuf (fields may come in any order): a Delta is its header fields
// (cluster, epoch, seq) followed by a body encoded once (upserts, removals, observed_at), so a
// sender can stream thousands of deltas without encoding any object again.
import { AgentMessage, Delta, HubMessage } from '../../../generated/fleet/v1/agent.js';
import type { FleetObject, ObjectRef } from '../../../shared/model/index.js';

export function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

/** Delta fields 4..7 only (no cluster/epoch/seq). */
export function encodeDeltaBody(upserts: FleetObject[], removals: ObjectRef[], observedAt: string, snapshot = false): Buffer {
  return Buffer.from(Delta.encode({ cluster: '', epoch: 0, seq: 0, upserts, removals, observed_at: observedAt, snapshot, events: [], snapshot_part: 0, snapshot_parts: 0 }).finish());
}

/** An AgentMessage{delta} from a header and a pre-encoded body; `traceparent`: the poll that made it was traced. */
export function deltaMessage(cluster: string, epoch: number, seq: number, body: Buffer, traceparent?: string): Buffer {
  const header = Buffer.from(Delta.encode({ cluster, epoch, seq, upserts: [], removals: [], observed_at: '', snapshot: false, events: [], snapshot_part: 0, snapshot_parts: 0, ...(traceparent ? { traceparent } : {}) }).finish());
  const len = header.length + body.length;
  return Buffer.concat([Buffer.from([0x12, ...varint(len)]), header, body], 1 + varint(len).length + len);
}

export function helloMessage(cluster: string, agent: string): Buffer {
  return Buffer.from(
    AgentMessage.encode({ body: { $case: 'hello', value: { cluster, agent_name: agent, epoch: 0, last_seq: 0, agent_version: 'bench', slurm_api_version: 'v0.0.40' } } }).finish(),
  );
}

/** An AgentMessage{heartbeat}, as an agent sends every heartbeat interval (the hub ends a stream silent for 3). */
export function heartbeatMessage(): Buffer {
  return Buffer.from(AgentMessage.encode({ body: { $case: 'heartbeat', value: { sent_at: new Date().toISOString(), slurm_api_version: 'v0.0.40', report: undefined } } }).finish());
}

/** epoch and seq of a delta message built by deltaMessage (they lead the Delta): no decoding. */
export function peekEpochSeq(msg: Buffer): { epoch: number; seq: number } {
  let pos = 1;
  const read = (): number => {
    let result = 0;
    let shift = 1;
    for (;;) {
      const b = msg[pos++];
      result += (b & 0x7f) * shift;
      if (b < 0x80) return result;
      shift *= 0x80;
    }
  };
  read(); // delta length
  let epoch = 0;
  let seq = 0;
  for (let i = 0; i < 3 && pos < msg.length; i++) {
    const tag = msg[pos++];
    if (tag === 0x0a) {
      const n = read();
      pos += n;
    } else if (tag === 0x10) epoch = read();
    else if (tag === 0x18) seq = read();
    else break;
  }
  return { epoch, seq };
}

export const decodeHubMessage = (b: Buffer): HubMessage => HubMessage.decode(b);
export const encodeHubMessage = (m: HubMessage): Buffer => Buffer.from(HubMessage.encode(m).finish());
