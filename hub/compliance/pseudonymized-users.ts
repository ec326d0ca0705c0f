// Users whose name the stored job history no longer holds (a GDPR request:
// `sfleet compliance pseudonymize NAME`): their runs carry the pseudonym instead, in the files
// already written and in every run written later (the backfill from slurmdbd, an import), so
// slurmdbd cannot bring the name back. The list keeps only pseudonyms, so it names nobody. In a
// hub group the list is shared through the security store (share()): whichever hub writes a
// cluster's history after a failover masks the same users.
import { readFile } from 'node:fs/promises';
import type { HistoryJob } from '../../shared/history/index.js';
import { writeAtomicallyAsync } from '../../shared/record-log/index.js';
import type { Pseudonymizer } from './pseudonym.js';

/** `user` as a word (not inside another name) in free text such as a job name: an RE2 pattern, so DuckDB and JS read it alike. */
export function userWordPattern(user: string): string {
  return `(^|[^A-Za-z0-9_.-])${user.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^A-Za-z0-9_]|$)`;
}

/** The group's shared list (the security store's 'pseudonyms' records, keyed by pseudonym). */
export interface SharedPseudonyms {
  get<T>(kind: 'pseudonyms', key: string): T | undefined;
  put(kind: 'pseudonyms', key: string, value: unknown, opts?: { queue?: boolean }): Promise<void>;
}

export class PseudonymizedUsers {
  private shared?: SharedPseudonyms;

  private constructor(
    private readonly file: string,
    private readonly pseudonymizer: Pseudonymizer,
    private readonly pseudonyms: Set<string>,
  ) {}

  /** The list in `file` (none yet: empty). A file that cannot be read stops the start: writing names it should hide is worse. */
  static async load(file: string, pseudonymizer: Pseudonymizer): Promise<PseudonymizedUsers> {
    let text: string | undefined;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const parsed = text === undefined ? { pseudonyms: [] } : (JSON.parse(text) as { pseudonyms?: unknown });
    if (!Array.isArray(parsed.pseudonyms) || !parsed.pseudonyms.every((p) => typeof p === 'string')) throw new Error(`${file}: not a list of pseudonyms`);
    return new PseudonymizedUsers(file, pseudonymizer, new Set(parsed.pseudonyms as string[]));
  }

  pseudonymOf(user: string): string {
    return this.pseudonymizer.name(user);
  }

  /**
   * A hub group: the list is also the group's (the security store's copy, read synchronously).
   * What this hub listed before joins the group's list (queued while the store is unreachable).
   */
  async share(store: SharedPseudonyms): Promise<void> {
    this.shared = store;
    for (const p of this.pseudonyms) if (!store.get('pseudonyms', p)) await store.put('pseudonyms', p, { added_at: new Date().toISOString() }, { queue: true });
  }

  private has(pseudonym: string): boolean {
    return this.pseudonyms.has(pseudonym) || this.shared?.get('pseudonyms', pseudonym) !== undefined;
  }

  /** Adds `user` (durably, here and in the group's list, before any file is rewritten); its pseudonym. */
  async add(user: string): Promise<string> {
    const pseudonym = this.pseudonymOf(user);
    if (!this.pseudonyms.has(pseudonym)) {
      const next = new Set(this.pseudonyms).add(pseudonym);
      await writeAtomicallyAsync(this.file, Buffer.from(`${JSON.stringify({ pseudonyms: [...next].sort() }, null, 2)}\n`));
      this.pseudonyms.add(pseudonym);
    }
    // Queued while the store is unreachable: the other hubs learn of it once it is back.
    if (this.shared && !this.shared.get('pseudonyms', pseudonym)) await this.shared.put('pseudonyms', pseudonym, { added_at: new Date().toISOString() }, { queue: true });
    return pseudonym;
  }

  /** `job` as it may be stored: a listed user's name replaced by the pseudonym, in `user` and as a word in the job name. */
  mask(job: HistoryJob): HistoryJob {
    if ((this.pseudonyms.size === 0 && !this.shared) || !job.user) return job;
    const pseudonym = this.pseudonymOf(job.user);
    if (!this.has(pseudonym)) return job;
    // Twice: a match takes the character after the name, so "alice alice" needs a second pass.
    const word = new RegExp(userWordPattern(job.user), 'g');
    return { ...job, user: pseudonym, name: job.name.replace(word, `$1${pseudonym}$2`).replace(word, `$1${pseudonym}$2`) };
  }
}
