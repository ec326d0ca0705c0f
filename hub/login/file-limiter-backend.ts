// A standalone hub's login counters, kept in data_dir/login-limits.json (sealed like the other
// files of the data directory): a restart does not end a lockout nor forget recent failures.
// Every change is written before the attempt goes on, so an attempt counted is never lost.
import { join } from 'node:path';
import type { AtRest } from '../../shared/crypto/index.js';
import type { Logger } from '../../shared/logging/index.js';
import { MemoryLimiterBackend, type CounterState } from './limiter-backend.js';

const PURPOSE = 'hub/login-limits';

export class FileLimiterBackend extends MemoryLimiterBackend {
  private readonly path: string;

  constructor(
    dataDir: string,
    private readonly atRest: AtRest,
    logger: Logger,
    now: () => number = Date.now,
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

  protected override changed(): void {
    const t = this.now();
    for (const [k, s] of this.states) if (s.expires <= t) this.states.delete(k);
    this.atRest.writeFile(this.path, PURPOSE, Buffer.from(JSON.stringify(Object.fromEntries(this.states))));
  }
}

function isState(s: unknown): s is CounterState {
  const v = s as CounterState;
  return typeof v === 'object' && v !== null && typeof v.attempts === 'object' && v.attempts !== null && typeof v.lockedUntil === 'number' && typeof v.expires === 'number';
}
