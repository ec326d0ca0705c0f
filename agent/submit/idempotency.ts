// The first result of each idempotency key, so that a command the hub sends again (a retried or
// re-forwarded request) is answered, not run twice. Bounded (oldest keys go first) and kept in
// the spool dir so that an agent restart does not forget them.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandResult } from '../../generated/fleet/v1/agent.js';

type Stored = Omit<CommandResult, 'id'>;

export class IdempotencyCache {
  private readonly results = new Map<string, Stored>();
  private readonly running = new Map<string, Promise<Stored>>();
  private readonly file?: string;

  constructor(private readonly opts: { max: number; dir?: string }) {
    if (opts.dir) {
      this.file = join(opts.dir, 'command-results.json');
      try {
        const saved = JSON.parse(readFileSync(this.file, 'utf8')) as [string, Stored][];
        for (const [k, v] of saved.slice(-opts.max)) this.results.set(k, v);
      } catch {
        // none yet, or unreadable: start empty (a repeat may then run again, as without a key)
      }
    }
  }

  /** The first result for `key`, running `work` only the first time (also while it still runs). */
  async once(key: string, work: () => Promise<Stored>): Promise<Stored & { repeated: boolean }> {
    const done = this.results.get(key);
    if (done) return { ...done, repeated: true };
    const pending = this.running.get(key);
    if (pending) return { ...(await pending), repeated: true };
    const p = work();
    this.running.set(key, p);
    try {
      const result = await p;
      // A failure before Slurm answered (unreachable) is not remembered: the caller may retry it.
      if (result.ok || result.code === 'SF_SLURM_COMMAND_FAILED') this.remember(key, result);
      return { ...result, repeated: false };
    } finally {
      this.running.delete(key);
    }
  }

  private remember(key: string, result: Stored): void {
    this.results.set(key, result);
    while (this.results.size > this.opts.max) this.results.delete(this.results.keys().next().value as string);
    if (!this.file) return;
    try {
      mkdirSync(this.opts.dir!, { recursive: true });
      writeFileSync(`${this.file}.tmp`, JSON.stringify([...this.results]));
      renameSync(`${this.file}.tmp`, this.file);
    } catch {
      // kept in memory; the spool dir's own checks report a broken disk
    }
  }
}
