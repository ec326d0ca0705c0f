// Changes to the fleet as a resumable feed. Each event has an id "<boot>-<n>"; a watcher that
// reconnects with Last-Event-ID gets what it missed, or a "reset" event when the hub has
// restarted or the gap is older than the buffer (then it should list again).
import type { FleetChange, FleetState } from '../fleet/index.js';
import type { KindName, KindTypes } from '../../shared/model/index.js';

export interface WatchEvent {
  id: string;
  seq: number;
  type: 'upsert' | 'remove' | 'reset';
  kind?: KindName;
  cluster?: string;
  object_id?: string;
  object?: KindTypes[KindName];
}

export interface WatchFilter {
  cluster?: string;
  kinds?: ReadonlySet<KindName>;
}

type Listener = (event: WatchEvent) => void;

export class WatchFeed {
  private readonly boot = Date.now().toString(36);
  private next = 1;
  private readonly buffer: WatchEvent[] = [];
  private readonly listeners = new Set<Listener>();

  constructor(
    state: FleetState,
    private readonly capacity = 50_000,
  ) {
    state.on('changes', (changes: FleetChange[]) => {
      for (const change of changes) this.push(change);
    });
  }

  private push(change: FleetChange): void {
    const seq = this.next++;
    const event: WatchEvent = {
      id: `${this.boot}-${seq}`,
      seq,
      type: change.type,
      kind: change.kind,
      cluster: change.cluster,
      object_id: change.id,
      ...(change.type === 'upsert' ? { object: change.value } : {}),
    };
    this.buffer.push(event);
    if (this.buffer.length > this.capacity) this.buffer.splice(0, this.buffer.length - this.capacity);
    for (const listener of this.listeners) listener(event);
  }

  /** Replays what the watcher missed after lastEventId, then streams. Returns unsubscribe. */
  subscribe(filter: WatchFilter, lastEventId: string | undefined, listener: Listener): () => void {
    if (lastEventId) {
      const m = /^([a-z0-9]+)-(\d+)$/.exec(lastEventId);
      const seq = m ? Number(m[2]) : NaN;
      const oldest = this.buffer.length ? this.buffer[0].seq : this.next;
      if (!m || m[1] !== this.boot || seq < oldest - 1 || seq >= this.next) {
        listener({ id: `${this.boot}-${this.next - 1}`, seq: this.next - 1, type: 'reset' });
      } else {
        for (const event of this.buffer) if (event.seq > seq && matches(filter, event)) listener(event);
      }
    }
    const wrapped: Listener = (event) => {
      if (matches(filter, event)) listener(event);
    };
    this.listeners.add(wrapped);
    return () => this.listeners.delete(wrapped);
  }

  get lastId(): string {
    return `${this.boot}-${this.next - 1}`;
  }
}

function matches(filter: WatchFilter, event: WatchEvent): boolean {
  if (event.type === 'reset') return true;
  if (filter.cluster && event.cluster !== filter.cluster) return false;
  if (filter.kinds && event.kind && !filter.kinds.has(event.kind)) return false;
  return true;
}
