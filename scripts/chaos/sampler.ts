// Double-leader watch: samples every hub every 50 ms while the scenarios run.
import type { Redis } from 'ioredis';
import { sleep } from '../../test/harness/index.js';
import type { Hub } from './fleet.js';

/** Samples every hub every 50 ms: leaders and their tokens, the Redis fence, cluster epoch/seq. */
export class Sampler {
  doubleLeader = 0;
  private maxToken = 0;
  private maxFence = 0;
  /** Per hub: epoch -> [lowest, highest] seq seen. */
  readonly seqs = new Map<string, Map<number, [number, number]>>();
  private timer?: NodeJS.Timeout;
  private busy = false;
  readonly notes: string[] = [];

  constructor(
    private readonly hubs: Hub[],
    private readonly redis: Redis,
    private readonly fenceKey: string,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.sample(), 50);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    while (this.busy) await sleep(10);
  }

  reset(): void {
    this.doubleLeader = 0;
    this.seqs.clear();
    this.notes.length = 0;
  }

  async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const live = this.hubs.filter((h) => h.alive);
      const [tokens, clusters] = await Promise.all([
        Promise.all(live.map((h) => h.leadingToken().catch(() => undefined))),
        Promise.all(live.map((h) => h.cluster().catch(() => undefined))),
      ]);
      const leading = live.map((h, i) => ({ id: h.id, token: tokens[i] })).filter((x) => x.token !== undefined) as { id: string; token: number }[];
      if (new Set(leading.map((l) => l.token)).size > 1) {
        this.doubleLeader++;
        this.notes.push(`two leaders at once: ${leading.map((l) => `${l.id}/${l.token}`).join(', ')}`);
      }
      for (const l of leading) {
        if (l.token < this.maxToken) {
          this.doubleLeader++;
          this.notes.push(`${l.id} leads with token ${l.token} after token ${this.maxToken} was seen`);
        }
        this.maxToken = Math.max(this.maxToken, l.token);
      }
      const fence = await this.redis.get(this.fenceKey).catch(() => null);
      if (fence !== null) {
        const f = Number(fence);
        if (f < this.maxFence) {
          this.doubleLeader++;
          this.notes.push(`Redis fence went back from ${this.maxFence} to ${f}`);
        }
        this.maxFence = Math.max(this.maxFence, f);
      }
      live.forEach((h, i) => {
        const c = clusters[i];
        if (!c || !c.epoch) return;
        const m = this.seqs.get(h.id) ?? new Map<number, [number, number]>();
        this.seqs.set(h.id, m);
        const r = m.get(c.epoch);
        m.set(c.epoch, r ? [Math.min(r[0], c.seq), Math.max(r[1], c.seq)] : [c.seq, c.seq]);
      });
    } finally {
      this.busy = false;
    }
  }
}
