// What a process knows about its durable writes: which stores cannot write now and why, and how
// many writes failed. A full disk fails every write, so the log says so once per interval (with
// how many failed meanwhile), not once per write; the metrics count every one. Each store says
// `failed` when a write fails and `ok` when one succeeds again: /healthz reads `degraded()`.
import type { Clock } from '../clock/index.js';
import { systemClock } from '../clock/index.js';
import type { Logger } from '../logging/index.js';

export interface StoreFault {
  /** The store's name as the metric label says it (`spool`, `wal`, `audit`, `events`...). */
  store: string;
  /** The error code (ENOSPC, EIO, EROFS...) or a word for a file lost under us. */
  code: string;
  message: string;
  since: string;
}

export interface WriteFaultsOptions {
  /** Log a store's failing writes at most once per this many ms. */
  logIntervalMs?: number;
}

interface StoreState {
  errors: number;
  fault?: StoreFault;
  lastLoggedAt?: number;
  suppressed: number;
}

export class WriteFaults {
  private readonly stores = new Map<string, StoreState>();
  private readonly listeners: Array<() => void> = [];

  constructor(
    private readonly deps: { logger: Logger; clock?: Clock },
    private readonly opts: WriteFaultsOptions = {},
  ) {}

  private state(store: string): StoreState {
    let s = this.stores.get(store);
    if (!s) {
      s = { errors: 0, suppressed: 0 };
      this.stores.set(store, s);
    }
    return s;
  }

  private get now(): number {
    return (this.deps.clock ?? systemClock).now();
  }

  /** A durable write of `store` failed: counted, logged (once per interval), degraded until `ok`. */
  failed(store: string, err: unknown, context: Record<string, unknown> = {}): void {
    const s = this.state(store);
    s.errors++;
    const code = errorCode(err);
    const message = err instanceof Error ? err.message : String(err);
    const wasOk = !s.fault;
    s.fault = { store, code, message, since: s.fault?.since ?? new Date(this.now).toISOString() };
    const interval = this.opts.logIntervalMs ?? 60_000;
    if (wasOk || s.lastLoggedAt === undefined || this.now - s.lastLoggedAt >= interval) {
      this.deps.logger.error(
        { store, code, err: message, failed_since_last_log: s.suppressed, ...context },
        `${store}: durable write failed (${code}); degraded until a write succeeds`,
      );
      s.lastLoggedAt = this.now;
      s.suppressed = 0;
    } else {
      s.suppressed++;
    }
    if (wasOk) this.changed();
  }

  /** A durable write of `store` succeeded: the fault (if any) is over. */
  ok(store: string): void {
    const s = this.stores.get(store);
    if (!s?.fault) return;
    this.deps.logger.warn({ store, code: s.fault.code, since: s.fault.since, failed_writes: s.errors }, `${store}: durable writes work again`);
    s.fault = undefined;
    s.lastLoggedAt = undefined;
    s.suppressed = 0;
    this.changed();
  }

  /** Stores that cannot write now. */
  degraded(): StoreFault[] {
    return [...this.stores.values()].flatMap((s) => (s.fault ? [s.fault] : []));
  }

  /** Failed writes per store since the start. */
  errorCounts(): Map<string, number> {
    return new Map([...this.stores].map(([store, s]) => [store, s.errors]));
  }

  /** Called when a store becomes degraded or recovers. */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }
}

/** ENOSPC, EIO, EROFS...; or the name of the error for a fault we detected ourselves. */
export function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code) return code;
  return err instanceof Error ? err.name : 'ERROR';
}

/** A one-line reason for /healthz: `spool: ENOSPC since 2026-...: no space left on device`. */
export function describeFault(f: StoreFault): string {
  return `${f.store}: ${f.code} since ${f.since}: ${f.message}`;
}
