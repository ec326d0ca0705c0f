// Every attempt of every notification, queryable (GET /api/v1/alerts/deliveries): the newest
// `capacity` in memory, appended to <data_dir>/alerting/deliveries.log (JSON lines) so that a
// restarted hub still answers what it sent. Reasons are safe text: no URLs, keys or bodies.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface DeliveryRecord {
  at: string;
  channel: string;
  type: string;
  notification_id: string;
  group_key: string;
  dedup_key: string;
  status: string;
  attempt: number;
  /** delivered | retry (another attempt follows) | rejected | failed (retries used up) */
  outcome: 'delivered' | 'retry' | 'rejected' | 'failed';
  reason?: string;
  duration_ms: number;
  possible_duplicate?: boolean;
  /** The user paged (a user or schedule step), not their address. */
  recipient?: string;
}

export interface DeliveryQuery {
  channel?: string;
  group_key?: string;
  dedup_key?: string;
  outcome?: string;
  limit?: number;
}

/** One attempt's identity: the same record merged twice (a hub group's shared log) is kept once. */
const idOf = (r: DeliveryRecord): string => `${r.notification_id}|${r.channel}|${r.recipient ?? ''}|${r.attempt}|${r.at}`;

export class DeliveryLog {
  private items: DeliveryRecord[] = [];
  private lines = 0;
  /** Counts changes (a hub group's leader writes the shared log when it moved). */
  version = 0;

  constructor(private readonly path: string | undefined, private readonly capacity = 5_000) {
    if (!path || !existsSync(path)) return;
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (!line) continue;
      try {
        this.items.push(JSON.parse(line) as DeliveryRecord);
      } catch {
        // a torn last line after a crash
      }
    }
    this.lines = this.items.length;
    if (this.items.length > capacity) this.items = this.items.slice(-capacity);
  }

  add(record: DeliveryRecord): void {
    this.version++;
    this.items.push(record);
    if (this.items.length > this.capacity) this.items.splice(0, this.items.length - this.capacity);
    if (!this.path) return;
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    if (this.lines >= 2 * this.capacity) {
      writeFileSync(this.path, this.items.map((r) => JSON.stringify(r) + '\n').join(''), { mode: 0o600 });
      this.lines = this.items.length;
    } else {
      appendFileSync(this.path, JSON.stringify(record) + '\n', { mode: 0o600 });
      this.lines++;
    }
  }

  /** The newest `n` records, oldest first. */
  recent(n: number): DeliveryRecord[] {
    return this.items.slice(-n);
  }

  /** A hub group: the region's records (shared-log.ts) join this hub's, each once, in time order. */
  merge(records: readonly DeliveryRecord[]): void {
    const known = new Set(this.items.map(idOf));
    const added = records.filter((r) => !known.has(idOf(r)));
    if (!added.length) return;
    for (const r of added) this.add(r);
    this.items.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  }

  /** Oldest first: the newest `limit` that match. */
  list(q: DeliveryQuery = {}): DeliveryRecord[] {
    const out = this.items.filter(
      (r) => (!q.channel || r.channel === q.channel) && (!q.group_key || r.group_key === q.group_key) && (!q.dedup_key || r.dedup_key === q.dedup_key) && (!q.outcome || r.outcome === q.outcome),
    );
    return q.limit !== undefined && out.length > q.limit ? out.slice(-q.limit) : out;
  }
}
