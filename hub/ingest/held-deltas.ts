// Deltas the hub applied in memory while its data directory could not be written (ENOSPC, EIO,
// EROFS, a broken WAL or events log): watchers and the API see them at once, but they are not
// durable, so they are not acked: the agent keeps them in its spool. Per cluster, in seq order,
// with the position the hub held durably before the first of them: acks and welcomes name that
// position, never one that a kill -9 would lose. The next commit (a new delta, a resend, or the
// applier's retry once per second) writes them first; once that works they are acked.
//
// Bounded: at most `limit` deltas per cluster (the agent's send window, 256 by default, keeps it
// far below that). A delta beyond the limit is not held: its stream ends as before the hold
// existed, and the agent resends from its spool when it reconnects.
//
// In a hub group the hold is also bounded in time (`maxAgeMs`): the agent's window of unacked
// deltas fills long before the count limit, after which the agent waits for acks that do not
// come, its stream stays up, and this hub keeps the cluster's ownership. Ending the stream once
// the oldest held delta is that old lets the agent move to a hub that can write. A standalone
// hub has no other hub to go to: it holds for as long as the fault lasts.
import type { Delta } from '../../generated/fleet/v1/agent.js';

/** Deltas held per cluster before the stream is ended instead (well above the agent's window of 256). */
export const HELD_DELTAS_LIMIT = 1024;

/** In a hub group: how long the oldest held delta may wait before the stream ends (the agent fails over). */
export const HELD_MAX_AGE_IN_GROUP_MS = 10_000;

interface Held {
  /** What the hub held durably before the first held delta: the position acks and welcomes name. */
  durableAt: { epoch: number; seq: number };
  deltas: Delta[];
  /** When the oldest held delta was held (ms, the `now` given). */
  since: number;
}

export class HeldDeltas {
  private readonly held = new Map<string, Held>();

  constructor(
    readonly limit = HELD_DELTAS_LIMIT,
    /** How long the oldest delta may be held before no more are (Infinity: as long as the fault lasts). */
    readonly maxAgeMs = Number.POSITIVE_INFINITY,
    private readonly now: () => number = Date.now,
  ) {}

  /** The cluster's held deltas, oldest first (empty when everything applied is durable). */
  of(cluster: string): readonly Delta[] {
    return this.held.get(cluster)?.deltas ?? [];
  }

  /** The durable position while deltas are held; undefined when everything applied is durable. */
  durableAt(cluster: string): { epoch: number; seq: number } | undefined {
    return this.held.get(cluster)?.durableAt;
  }

  /** May `count` more deltas of the cluster be held? Not past the count limit, nor past the age limit. */
  room(cluster: string, count: number): boolean {
    const held = this.held.get(cluster);
    if (held && this.now() - held.since > this.maxAgeMs) return false;
    return this.of(cluster).length + count <= this.limit;
  }

  /** `delta` is applied in memory and not durable; `before` is the cluster's position before it was applied. */
  hold(cluster: string, delta: Delta, before: { epoch: number; seq: number }): void {
    const held = this.held.get(cluster);
    if (held) held.deltas.push(delta);
    else this.held.set(cluster, { durableAt: { ...before }, deltas: [delta], since: this.now() });
  }

  /** `written` (the first held deltas, as of() returned them) are durable now: they are no longer held. */
  saved(cluster: string, written: readonly Delta[]): void {
    const held = this.held.get(cluster);
    if (!held || written.length === 0) return;
    const last = written[written.length - 1];
    const stillHeld = held.deltas.slice(held.deltas.indexOf(last) + 1);
    if (stillHeld.length === 0) {
      this.held.delete(cluster);
      return;
    }
    held.deltas = stillHeld;
    held.durableAt = { epoch: last.epoch, seq: last.seq };
    held.since = this.now();
  }

  /** Deltas held over all clusters (a gauge). */
  get size(): number {
    let n = 0;
    for (const h of this.held.values()) n += h.deltas.length;
    return n;
  }
}
