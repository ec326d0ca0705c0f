// A snapshot too big for one message arrives in parts (Delta.snapshot_part of snapshot_parts,
// consecutive seqs). The parts are held here until the last one is in, then handed on as one
// snapshot delta: the cluster's state is replaced at once, never by half a snapshot, and the
// agent gets one ack (for the last part's seq) when the whole is durable and applied.
// Small messages keep a stream live under load: a hub busy with 100 fresh agents still sees
// each of them often, instead of one 20 MB message that takes longer than three heartbeats.
import type { Delta, FleetEvent } from '../../generated/fleet/v1/agent.js';
import type { FleetObject } from '../../generated/fleet/v1/model.js';
import { BadSnapshotPartError } from './errors.js';

/** More objects than any cluster holds; a stream that sends more is broken or hostile. */
export const MAX_SNAPSHOT_OBJECTS = 20_000_000;


export class SnapshotParts {
  private first?: Delta;
  private last?: Delta;
  private upserts: FleetObject[] = [];
  private events: FleetEvent[] = [];

  /** A snapshot is half in (its later parts went with a broken stream, or are still coming). */
  get collecting(): boolean {
    return this.first !== undefined;
  }

  /**
   * Takes one part. Returns the whole snapshot when this was the last part, else undefined.
   * Throws BadSnapshotPartError when the parts do not follow each other.
   */
  add(part: Delta): Delta | undefined {
    const { snapshot_part: n, snapshot_parts: total } = part;
    if (!part.snapshot || n < 1 || total < 1 || n > total) {
      throw new BadSnapshotPartError(`part ${n} of ${total} (snapshot ${part.snapshot}) at seq ${part.seq}`);
    }
    if (n === 1) this.reset(); // a new snapshot: one that was half in is replaced by it
    else if (!this.first || !this.last || part.epoch !== this.last.epoch || part.seq !== this.last.seq + 1 || n !== this.last.snapshot_part + 1 || total !== this.last.snapshot_parts) {
      const had = this.last ? `part ${this.last.snapshot_part} of ${this.last.snapshot_parts} at epoch ${this.last.epoch} seq ${this.last.seq}` : 'no part';
      this.reset();
      throw new BadSnapshotPartError(`got part ${n} of ${total} at epoch ${part.epoch} seq ${part.seq} after ${had}`);
    }
    if (this.upserts.length + part.upserts.length > MAX_SNAPSHOT_OBJECTS) {
      this.reset();
      throw new BadSnapshotPartError(`a snapshot of more than ${MAX_SNAPSHOT_OBJECTS} objects`);
    }
    this.first ??= part;
    this.last = part;
    for (const o of part.upserts) this.upserts.push(o);
    for (const e of part.events) this.events.push(e);
    if (n < total) return undefined;
    const whole: Delta = {
      cluster: part.cluster,
      epoch: part.epoch,
      seq: part.seq,
      upserts: this.upserts,
      removals: [],
      observed_at: part.observed_at,
      snapshot: true,
      events: this.events,
      snapshot_part: 0,
      snapshot_parts: 0,
    };
    this.upserts = [];
    this.events = [];
    this.first = this.last = undefined;
    return whole;
  }

  /** Forgets a half-received snapshot (the stream ended, or a plain delta came instead). */
  reset(): void {
    this.first = this.last = undefined;
    this.upserts = [];
    this.events = [];
  }
}
