// Each alert's timeline: fired, notified (per channel and outcome), acknowledged, resolved.
// Open timelines are part of the alerting state (store.ts); a resolved one moves to
// <data_dir>/alerting/history.json (the newest `capacity`), where the resolve notifications that
// follow still join it. `sfleet alerts history` and GET /api/v1/alerts/history read it.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Alert } from './model.js';

export interface TimelineEntry {
  at: string;
  what: 'fired' | 'notified' | 'acknowledged' | 'resolved';
  /** notified: the channel, the notification's status and step, and how the delivery ended. */
  channel?: string;
  status?: string;
  step?: number;
  outcome?: string;
  /** acknowledged, resolved: who (a resolve by the rule has none). */
  by?: string;
}

export interface AlertHistory {
  fingerprint: string;
  labels: Record<string, string>;
  summary: string;
  fired_at: string;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  resolved_at: string | null;
  resolved_by: string | null;
  timeline: TimelineEntry[];
}

/** A storm's repeats: an alert keeps its first entries, then only the resolve. */
const MAX_ENTRIES = 200;

/** One alert episode: the same one from the region's shared log replaces this hub's copy. */
const episodeOf = (h: AlertHistory): string => `${h.fingerprint}|${h.fired_at}`;

export class AlertHistoryBook {
  private closed: AlertHistory[] = [];
  /** Counts changes of the resolved history (a hub group's leader shares it when it moved). */
  version = 0;

  /** `onError`: the history file could not be written (kept in memory meanwhile). */
  constructor(private readonly open: Record<string, AlertHistory>, private readonly path: string | undefined, private readonly onError: (err: Error) => void, private readonly capacity = 1_000) {
    if (!path || !existsSync(path)) return;
    try {
      this.closed = (JSON.parse(readFileSync(path, 'utf8')) as AlertHistory[]).slice(-capacity);
    } catch {
      // A damaged file loses the history, never the hub; the next resolve rewrites it.
    }
  }

  /** The open timelines, for the alerting state. */
  openTimelines(): Record<string, AlertHistory> {
    return this.open;
  }

  /** A hub group's new leader: the region's open timelines replace what this hub knew. */
  replaceOpen(open: Record<string, AlertHistory>): void {
    for (const k of Object.keys(this.open)) delete this.open[k];
    Object.assign(this.open, open);
  }

  fired(a: Alert, at: string): void {
    this.open[a.fingerprint] = { fingerprint: a.fingerprint, labels: a.labels, summary: a.annotations.summary, fired_at: a.starts_at ?? at, acknowledged_at: null, acknowledged_by: null, resolved_at: null, resolved_by: null, timeline: [{ at: a.starts_at ?? at, what: 'fired' }] };
  }

  acknowledged(fingerprint: string, by: string, at: string): void {
    const h = this.open[fingerprint];
    if (!h) return;
    if (!h.acknowledged_at) Object.assign(h, { acknowledged_at: at, acknowledged_by: by });
    push(h, { at, what: 'acknowledged', by });
  }

  /** A notification about these alerts ended (delivered, rejected or failed). */
  notified(fingerprints: readonly string[], entry: Omit<TimelineEntry, 'what'>): void {
    let changed = false;
    for (const fp of fingerprints) {
      const h = this.open[fp] ?? this.closed.findLast((x) => x.fingerprint === fp);
      if (!h) continue;
      push(h, { ...entry, what: 'notified' });
      changed ||= !this.open[fp];
    }
    if (changed) this.save();
  }

  resolved(fingerprint: string, by: string | undefined, at: string): void {
    const h = this.open[fingerprint];
    if (!h) return;
    delete this.open[fingerprint];
    Object.assign(h, { resolved_at: at, resolved_by: by ?? null });
    h.timeline.push({ at, what: 'resolved', ...(by ? { by } : {}) });
    this.closed.push(h);
    if (this.closed.length > this.capacity) this.closed.splice(0, this.closed.length - this.capacity);
    this.save();
  }

  /** The resolved timelines, oldest first (a hub group's shared log). */
  closedList(): AlertHistory[] {
    return this.closed;
  }

  /** A hub group: the region's resolved timelines (shared-log.ts) replace this hub's copies and join the rest. */
  mergeClosed(list: readonly AlertHistory[]): void {
    const theirs = new Map(list.map((h) => [episodeOf(h), h]));
    if (!theirs.size) return;
    const before = JSON.stringify(this.closed);
    const merged = [...this.closed.filter((h) => !theirs.has(episodeOf(h))), ...theirs.values()];
    merged.sort((a, b) => ((a.resolved_at ?? '') < (b.resolved_at ?? '') ? -1 : (a.resolved_at ?? '') > (b.resolved_at ?? '') ? 1 : 0));
    this.closed = merged.slice(-this.capacity);
    if (JSON.stringify(this.closed) !== before) this.save();
  }

  /** Resolved alerts, newest first. */
  list(q: { cluster?: string | undefined; limit?: number | undefined } = {}): AlertHistory[] {
    const out = this.closed.filter((h) => !q.cluster || h.labels.cluster === q.cluster).reverse();
    return out.slice(0, q.limit ?? 100);
  }

  private save(): void {
    this.version++;
    if (!this.path) return;
    try {
      mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
      writeFileSync(`${this.path}.tmp`, JSON.stringify(this.closed), { mode: 0o600 });
      renameSync(`${this.path}.tmp`, this.path);
    } catch (err) {
      this.onError(err as Error);
    }
  }
}

function push(h: AlertHistory, e: TimelineEntry): void {
  if (h.timeline.length < MAX_ENTRIES) h.timeline.push(e);
}
