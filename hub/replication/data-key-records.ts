// The data keys of the replication stream (<prefix>:<region>:data-keys) follow a key rotation.
// Each record is a data key wrapped by the at-rest key version it was made under; entries and
// snapshots name it by id and keep it for as long as they exist. Once the group has rotated,
// every hub's KeyRewrap (hub/keys) moves the records below the group's version to it, so the
// old version can be retired (README: when oldest_in_use equals group on every hub) and entries
// sealed before still open. Any hub may move any record: each write is a compare-and-set on the
// record it read (a Lua script), so two hubs doing it at once, or a hub storing a new record,
// never overwrite each other; the loser finds the record already moved.
import type { Redis } from 'ioredis';
import type { AtRest, WrappedDek } from '../../shared/crypto/index.js';

/** HSET field value only while it still holds what was read. */
const COMPARE_AND_SET = "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) return 1 end return 0";

export interface StoreRewrap {
  rewrapped: number;
  current: number;
  failed: { id: string; error: string }[];
}

export class DataKeyRecords {
  /** Names the store in audit records and logs. */
  readonly what = 'replication data keys in Redis';

  constructor(private readonly deps: { atRest: AtRest; redis: Redis; dataKeys: string }) {}

  /** The lowest version of this hub's at-rest key among the records (undefined: none). */
  async oldestVersion(): Promise<number | undefined> {
    let oldest: number | undefined;
    for (const [, w] of await this.records()) {
      const v = w ? this.deps.atRest.dataKeyVersion(w) : undefined;
      if (v !== undefined && (oldest === undefined || v < oldest)) oldest = v;
    }
    return oldest;
  }

  /** Moves every record below `target` to this hub's newest version (throws when Redis does not answer). */
  async rewrapTo(target: number): Promise<StoreRewrap> {
    const out: StoreRewrap = { rewrapped: 0, current: 0, failed: [] };
    for (const [id, w, raw] of await this.records()) {
      // A damaged record opens nothing either way (its entries are gaps, entry-sealer.ts): not counted.
      if (!w) continue;
      try {
        const next = await this.deps.atRest.rewrapDataKey(w, id, target);
        if (!next) {
          out.current++;
          continue;
        }
        const set = await this.deps.redis.eval(COMPARE_AND_SET, 1, this.deps.dataKeys, id, raw, JSON.stringify(next));
        if (set === 1) out.rewrapped++;
        else if (await this.movedBySomeoneElse(id, target)) out.current++;
        else out.failed.push({ id: id.slice(0, 8), error: 'the record changed while it was re-wrapped' });
      } catch (err) {
        out.failed.push({ id: id.slice(0, 8), error: (err as Error).message });
      }
    }
    return out;
  }

  /** The compare-and-set lost: another hub moved the record first (or it is gone). */
  private async movedBySomeoneElse(id: string, target: number): Promise<boolean> {
    const raw = await this.deps.redis.hget(this.deps.dataKeys, id);
    if (raw === null) return true;
    const w = parse(raw);
    const v = w ? this.deps.atRest.dataKeyVersion(w) : undefined;
    return v !== undefined && v >= target;
  }

  /** Every record: [key id, the wrapped key (undefined when damaged), the stored text]. */
  private async records(): Promise<[string, WrappedDek | undefined, string][]> {
    const all = await this.deps.redis.hgetall(this.deps.dataKeys);
    return Object.entries(all).map(([id, raw]) => [id, parse(raw), raw]);
  }
}

function parse(raw: string): WrappedDek | undefined {
  try {
    const w = JSON.parse(raw) as Partial<WrappedDek> | null;
    return w && typeof w.key_version === 'number' && typeof w.wrapped === 'string' && typeof w.key_id === 'string' ? (w as WrappedDek) : undefined;
  } catch {
    return undefined;
  }
}
