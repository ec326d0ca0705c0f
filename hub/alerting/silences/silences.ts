// Silences: matchers with a start, an end, who made it and why. From config (fixed) and from the
// API/CLI (kept in the alerting state, so they survive a restart). Expiring sets end to now.
// `changed` hears an API silence created, expired by hand, or ended by its time (found by prune,
// which the evaluation runs): the alerting room records it as a fleet event for the watch stream.
import { randomUUID } from 'node:crypto';
import { matchesAll, parseMatcher, type Matcher } from './matchers.js';

export interface Silence {
  id: string;
  matchers: string[];
  starts_at: string;
  ends_at: string;
  created_by: string;
  comment: string;
  /** config silences cannot be expired through the API. */
  source: 'config' | 'api';
}

export type SilenceChange = 'created' | 'expired';

export class Silences {
  private readonly parsed = new Map<string, Matcher[]>();
  /** Silences whose end was already announced (or had passed when loaded): each is told once. */
  private readonly ended = new Set<string>();

  constructor(
    private readonly items: Silence[],
    private readonly changed: (s: Silence, change: SilenceChange) => void = () => undefined,
    now = Date.now(),
  ) {
    for (const s of items) if (Date.parse(s.ends_at) <= now) this.ended.add(s.id);
  }

  all(): readonly Silence[] {
    return this.items;
  }

  /** A hub group's new leader: the API silences are the region's (config ones stay). */
  replaceApi(silences: readonly Silence[]): void {
    const kept = this.items.filter((s) => s.source !== 'api');
    this.items.splice(0, this.items.length, ...kept, ...silences.filter((s) => s.source === 'api'));
  }

  active(now: number): Silence[] {
    return this.items.filter((s) => Date.parse(s.starts_at) <= now && now < Date.parse(s.ends_at));
  }

  /** The active silence that mutes these labels, if any. */
  silencing(labels: Readonly<Record<string, string>>, now: number): Silence | undefined {
    return this.active(now).find((s) => matchesAll(this.matchersOf(s), labels));
  }

  /** Throws (a message for the caller) on a bad matcher or times. */
  add(input: { matchers: string[]; starts_at?: string; ends_at: string; created_by: string; comment: string; source?: 'config' | 'api' }, now: number): Silence {
    if (!input.matchers.length) throw new Error('a silence needs at least one matcher');
    for (const m of input.matchers) parseMatcher(m);
    const start = input.starts_at ? Date.parse(input.starts_at) : now;
    const end = Date.parse(input.ends_at);
    if (!Number.isFinite(start) || !Number.isFinite(end)) throw new Error('starts_at and ends_at must be ISO-8601 times');
    if (end <= start) throw new Error('ends_at must be after starts_at');
    if (!input.comment.trim()) throw new Error('a silence needs a comment');
    const silence: Silence = {
      id: randomUUID(),
      matchers: [...input.matchers],
      starts_at: new Date(start).toISOString(),
      ends_at: new Date(end).toISOString(),
      created_by: input.created_by,
      comment: input.comment,
      source: input.source ?? 'api',
    };
    this.items.push(silence);
    if (silence.source === 'api') this.changed(silence, 'created');
    return silence;
  }

  expire(id: string, now: number): Silence | undefined {
    const s = this.items.find((x) => x.id === id);
    if (!s || s.source === 'config') return undefined;
    if (Date.parse(s.ends_at) > now) s.ends_at = new Date(Math.max(now, Date.parse(s.starts_at))).toISOString();
    this.announceEnd(s);
    return s;
  }

  /** Ended by its time since the last call: announced. Expired more than a day ago: dropped from the state. */
  prune(now: number): void {
    for (let i = this.items.length - 1; i >= 0; i--) {
      const s = this.items[i];
      if (Date.parse(s.ends_at) <= now) this.announceEnd(s);
      if (now - Date.parse(s.ends_at) > 86_400_000) {
        this.items.splice(i, 1);
        this.ended.delete(s.id);
      }
    }
  }

  private announceEnd(s: Silence): void {
    if (this.ended.has(s.id) || s.source !== 'api') return;
    this.ended.add(s.id);
    this.changed(s, 'expired');
  }

  private matchersOf(s: Silence): Matcher[] {
    let m = this.parsed.get(s.id);
    if (!m) this.parsed.set(s.id, (m = s.matchers.map(parseMatcher)));
    return m;
  }
}
