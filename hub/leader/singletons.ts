// The leader-only work of a region (today: compaction of the shared state and the record of
// controller failover events; later: alert escalation, notifications, schedules, backups,
// quota actions). Each singleton runs while this hub leads and stops when it does not.
import type { Logger } from '../../shared/logging/index.js';
import type { LeaderContext } from './fencing.js';

export interface Singleton {
  readonly name: string;
  /**
   * Runs while ctx.signal is not aborted. Returning or throwing before that restarts it after
   * a pause (a throw is logged); it must write only through fenced calls carrying ctx.token.
   */
  run(ctx: LeaderContext): Promise<void>;
}

/** A singleton that calls tick() every intervalMs while leading (first tick at once). */
export function periodic(name: string, intervalMs: number, tick: (ctx: LeaderContext) => Promise<void>): Singleton {
  return {
    name,
    async run(ctx) {
      while (!ctx.signal.aborted) {
        await tick(ctx);
        await sleep(intervalMs, ctx.signal);
      }
    },
  };
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

export interface SingletonStats {
  runs: number;
  failures: number;
  refused: number;
}

/** Starts every registered singleton for one term of leadership; stop() ends the term. */
export class SingletonRunner {
  private readonly singletons: Singleton[] = [];
  private readonly running = new Map<string, Promise<void>>();
  readonly stats = new Map<string, SingletonStats>();

  constructor(
    private readonly deps: { logger: Logger },
    private readonly restartDelayMs = 1_000,
  ) {}

  register(singleton: Singleton): void {
    if (this.singletons.some((s) => s.name === singleton.name)) throw new Error(`singleton ${singleton.name} is registered twice`);
    this.singletons.push(singleton);
    this.stats.set(singleton.name, { runs: 0, failures: 0, refused: 0 });
  }

  get names(): string[] {
    return this.singletons.map((s) => s.name);
  }

  /** Names of the singletons running now. */
  get active(): string[] {
    return [...this.running.keys()];
  }

  /** Starts the term's singletons; they stop when ctx.signal aborts. */
  start(ctx: LeaderContext): void {
    for (const singleton of this.singletons) {
      if (this.running.has(singleton.name)) continue;
      const done = this.loop(singleton, ctx).finally(() => this.running.delete(singleton.name));
      this.running.set(singleton.name, done);
    }
  }

  /** Resolves when every singleton of the ended term has returned. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.running.values()]);
  }

  private async loop(singleton: Singleton, ctx: LeaderContext): Promise<void> {
    const log = this.deps.logger.child({ singleton: singleton.name, fencing_token: ctx.token });
    const stats = this.stats.get(singleton.name)!;
    while (!ctx.signal.aborted) {
      stats.runs++;
      try {
        await singleton.run(ctx);
      } catch (err) {
        if ((err as { code?: string }).code === 'SF_LEADER_FENCED') {
          stats.refused++;
          log.warn({ err: (err as Error).message }, 'singleton write refused: this hub no longer leads');
        } else {
          stats.failures++;
          log.error({ err: (err as Error).message }, 'singleton failed; restarting it');
        }
      }
      await sleep(this.restartDelayMs, ctx.signal);
    }
  }
}
