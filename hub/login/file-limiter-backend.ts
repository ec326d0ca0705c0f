// A standalone hub's login counters, kept in data_dir/login-limits.json (sealed like the other
// files of the data directory): a restart does not end a lockout nor forget recent failures.
// An attempt goes on (its password checked, its answer sent) only once the file holding its
// count is on disk. Group commit: changes are made in memory at once (so counting stays exact),
// and the changes made while one write is in flight share the next write and its fsync, done on
// libuv's threads; a flood of logins then costs a few writes a second, none on the main thread.
import { join } from 'node:path';
import type { AtRest } from '../../shared/crypto/index.js';
import { DurableWriteError, errorCode, type WriteFaults } from '../../shared/durability/index.js';
import type { Logger } from '../../shared/logging/index.js';
import { MemoryLimiterBackend, type CounterState } from './limiter-backend.js';

const PURPOSE = 'hub/login-limits';
const STORE = 'login-limits.json';

interface Batch {
  done: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class FileLimiterBackend extends MemoryLimiterBackend {
  private readonly path: string;
  /** The write on disk now, if any. */
  private writing = false;
  /** The changes made since that write began: they wait for the next one. */
  private next: Batch | undefined;
  /** Writes done (tests: a burst shares writes). */
  writes = 0;

  constructor(
    dataDir: string,
    private readonly atRest: AtRest,
    logger: Logger,
    now: () => number = Date.now,
    private readonly faults?: WriteFaults,
  ) {
    super(now);
    this.path = join(dataDir, 'login-limits.json');
    try {
      const stored = atRest.readFile(this.path, PURPOSE);
      const parsed = stored ? (JSON.parse(stored.toString('utf8')) as Record<string, CounterState>) : {};
      const t = now();
      for (const [k, s] of Object.entries(parsed)) if (isState(s) && s.expires > t) this.states.set(k, s);
    } catch (err) {
      // Unreadable counters must not keep the hub from starting: it counts from zero (and says so).
      logger.error({ file: this.path, err: (err as Error).message }, 'login limiter: the saved counters cannot be read; counting starts again from zero');
    }
  }

  /** Resolves once a write that holds this change is on disk; rejects when that write failed. */
  protected override changed(): Promise<void> {
    if (!this.next) {
      let resolve!: () => void;
      let reject!: (err: Error) => void;
      const done = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      this.next = { done, resolve, reject };
    }
    const done = this.next.done;
    if (!this.writing) this.flush();
    return done;
  }

  private flush(): void {
    const batch = this.next;
    if (!batch) return;
    this.next = undefined;
    this.writing = true;
    // The snapshot is taken now: every change made so far is in it.
    const t = this.now();
    for (const [k, s] of this.states) if (s.expires <= t) this.states.delete(k);
    const data = Buffer.from(JSON.stringify(Object.fromEntries(this.states)));
    this.writes++;
    // A failed write refuses the attempts waiting on it (503, typed): none goes on uncounted.
    void this.atRest
      .writeFileAsync(this.path, PURPOSE, data)
      .then(
        () => {
          this.faults?.ok(STORE);
          batch.resolve();
        },
        (err: unknown) => {
          this.faults?.failed(STORE, err);
          batch.reject(new DurableWriteError(STORE, errorCode(err)));
        },
      )
      .finally(() => {
        this.writing = false;
        this.flush();
      });
  }
}

function isState(s: unknown): s is CounterState {
  const v = s as CounterState;
  return typeof v === 'object' && v !== null && typeof v.attempts === 'object' && v.attempts !== null && typeof v.lockedUntil === 'number' && typeof v.expires === 'number';
}
