// Deltas on disk (agent spool, hub data directory) use the same protobuf encoding as the wire.
import { Delta } from '../../generated/fleet/v1/agent.js';

export function encodeDelta(delta: Delta): Uint8Array {
  return Delta.encode(delta).finish();
}

export function decodeDelta(bytes: Uint8Array): Delta {
  return Delta.decode(bytes);
}

export { Delta };
