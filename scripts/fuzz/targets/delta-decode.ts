// Differential: the hub's fast Delta decoder (hub/ingest/decode/fast-decode.ts) against the
// generated ts-proto decoder, on Delta and AgentMessage bytes. Both refuse, or both give the same
// object key for key; the fast decoder's refusal is the typed MalformedMessageError.
import { isDeepStrictEqual } from 'node:util';
import { AgentMessage, Delta } from '../../../generated/fleet/v1/agent.js';
import { FastDeltaDecoder, sameStructure } from '../../../hub/ingest/decode/index.js';
import { answersOrRefuses } from '../invariant.js';

const decoder = new FastDeltaDecoder();
if (!decoder.enabled) throw new Error('the fast decoder is off (its self-check failed): nothing to compare');

function generated<T>(decode: () => T): T | undefined {
  try {
    return decode();
  } catch {
    return undefined;
  }
}

function agree(what: string, fast: unknown, slow: unknown): void {
  const fastRefused = fast instanceof Error;
  if (fastRefused !== (slow === undefined)) throw new Error(`${what}: fast decoder ${fastRefused ? 'refused' : 'decoded'}, generated decoder ${fastRefused ? 'decoded' : 'refused'}`);
  if (!fastRefused && !(sameStructure(fast, slow) && isDeepStrictEqual(fast, slow))) throw new Error(`${what}: the two decoders disagree`);
}

export function fuzz(data: Buffer): void {
  if (data.length < 1) return;
  const bytes = data.subarray(1);
  if ((data[0] & 1) === 0) agree('Delta', answersOrRefuses(() => decoder.decodeDelta(bytes)), generated(() => Delta.decode(bytes)));
  else agree('AgentMessage', answersOrRefuses(() => decoder.decodeAgentMessage(bytes)), generated(() => AgentMessage.decode(bytes)));
}
