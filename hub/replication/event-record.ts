// The region's record of fleet events (controller failovers, controller down/up...), a
// leader-only singleton. Every hub sees every event (in the deltas it applies, its own or
// replicated) and keeps the recent ones; the leader appends them to the Redis stream
// <prefix>:events, each once: a fenced script sets event-seen:<id> and adds the entry only
// when the id is new. A new leader re-offers what it holds, so an event the old leader
// never wrote is not lost, and one it did write is not written twice.
import type { Redis } from 'ioredis';
import type { FleetEvent } from '../../generated/fleet/v1/agent.js';
import type { Delta } from '../../shared/delta/index.js';
import type { LeaderContext, Singleton } from '../leader/index.js';
import { sleep } from '../leader/index.js';
import type { ReplicationKeys } from './keys.js';
import type { RedisFence } from './redis-fence.js';

const RECORD_EVENTS = `
local written = 0
local n = tonumber(ARGV[2])
local ttl = ARGV[3]
local maxlen = ARGV[4]
local i = 5
for _ = 1, n do
  local id = ARGV[i]
  if redis.call('SET', KEYS[2] .. id, '1', 'NX', 'PX', ttl) then
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', maxlen, '*',
      'id', id, 'cluster', ARGV[i + 1], 'type', ARGV[i + 2], 'severity', ARGV[i + 3],
      'message', ARGV[i + 4], 'occurred_at', ARGV[i + 5], 'attributes', ARGV[i + 6], 'fencing_token', ARGV[1])
    written = written + 1
  end
  i = i + 7
end
return {1, written}
`;

export interface RecordedEvent {
  id: string;
  cluster: string;
  type: string;
  severity: string;
  message: string;
  occurred_at: string;
  attributes: Record<string, string>;
  fencing_token: number;
}

export class EventRecord {
  readonly stats = { recorded: 0, offered: 0 };
  private readonly recent = new Map<string, FleetEvent>();
  private pending: FleetEvent[] = [];
  private leading = false;
  private wake?: () => void;

  constructor(
    private readonly deps: { redis: Redis; fence: RedisFence; keys: ReplicationKeys },
    private readonly opts = { keep: 5_000, seenTtlMs: 7 * 24 * 3600_000, maxLen: 100_000 },
  ) {}

  /** Every applied delta passes here, on every hub. */
  observe(delta: Delta): void {
    for (const event of delta.events) {
      if (!event.id || this.recent.has(event.id)) continue;
      this.recent.set(event.id, event);
      if (this.recent.size > this.opts.keep) this.recent.delete(this.recent.keys().next().value!);
      // Only the leader's term drains `pending`: on any other hub it would grow all its life
      // (a term starts from `recent`, bounded, anyway).
      if (this.leading) this.pending.push(event);
    }
    if (this.pending.length) this.wake?.();
  }

  /** Events waiting to be offered to Redis (0 while this hub does not lead). */
  get queued(): number {
    return this.pending.length;
  }

  singleton(): Singleton {
    return {
      name: 'event-record',
      run: async (ctx) => {
        // A new term offers everything recent: the dedupe key decides what is new.
        this.pending = [...this.recent.values()];
        this.leading = true;
        try {
          await this.offer(ctx);
        } finally {
          this.leading = false;
          this.pending = [];
        }
      },
    };
  }

  private async offer(ctx: LeaderContext): Promise<void> {
    while (!ctx.signal.aborted) {
      if (this.pending.length === 0) {
        await Promise.race([new Promise<void>((resolve) => (this.wake = resolve)), sleep(1_000, ctx.signal)]);
        this.wake = undefined;
        continue;
      }
      const batch = this.pending.slice(0, 200);
      const argv: string[] = [String(batch.length), String(this.opts.seenTtlMs), String(this.opts.maxLen)];
      for (const e of batch) argv.push(e.id, e.cluster, e.type, e.severity, e.message, e.occurred_at, JSON.stringify(e.attributes ?? {}));
      const result = await this.deps.fence.script(ctx.token, RECORD_EVENTS, argv, [this.deps.keys.eventSeen(''), this.deps.keys.events]);
      this.pending = this.pending.slice(batch.length);
      this.stats.offered += batch.length;
      this.stats.recorded += Number(result[1]);
    }
  }

  /** The newest recorded events, newest first. */
  async list(count = 100): Promise<RecordedEvent[]> {
    const entries = await this.deps.redis.xrevrange(this.deps.keys.events, '+', '-', 'COUNT', count);
    return entries.map(([, fields]) => {
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]] = fields[i + 1];
      return {
        id: f.id,
        cluster: f.cluster,
        type: f.type,
        severity: f.severity,
        message: f.message,
        occurred_at: f.occurred_at,
        attributes: JSON.parse(f.attributes || '{}') as Record<string, string>,
        fencing_token: Number(f.fencing_token),
      };
    });
  }
}
