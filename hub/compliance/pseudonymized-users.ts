// Users whose name the stored job history no longer holds (a GDPR request:
// `sfleet compliance pseudonymize NAME`): their runs carry the pseudonym instead, in the files
// already written and in every run written later (the backfill from slurmdbd, an import), so
// slurmdbd cannot bring the name back. The list keeps only pseudonyms, so it names nobody.
import { readFile } from 'node:fs/promises';
import type { HistoryJob } from '../../shared/history/index.js';
import { writeAtomicallyAsync } from '../../shared/record-log/index.js';
import type { Pseudonymizer } from './pseudonym.js';

/** `user` as a word (not inside another name) in free text such as a job name: an RE2 pattern, so DuckDB and JS read it alike. */
export function userWordPattern(user: string): string {
  return `(^|[^A-Za-z0-9_.-])${user.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^A-Za-z0-9_]|$)`;
}

export class PseudonymizedUsers {
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

  /** Adds `user` (durably, before any file is rewritten); its pseudonym. */
  async add(user: string): Promise<string> {
    const pseudonym = this.pseudonymOf(user);
    if (!this.pseudonyms.has(pseudonym)) {
      const next = new Set(this.pseudonyms).add(pseudonym);
      await writeAtomicallyAsync(this.file, Buffer.from(`${JSON.stringify({ pseudonyms: [...next].sort() }, null, 2)}\n`));
      this.pseudonyms.add(pseudonym);
    }
    return pseudonym;
  }

  /** `job` as it may be stored: a listed user's name replaced by the pseudonym, in `user` and as a word in the job name. */
  mask(job: HistoryJob): HistoryJob {
    if (this.pseudonyms.size === 0 || !job.user) return job;
    const pseudonym = this.pseudonymOf(job.user);
    if (!this.pseudonyms.has(pseudonym)) return job;
    // Twice: a match takes the character after the name, so "alice alice" needs a second pass.
    const word = new RegExp(userWordPattern(job.user), 'g');
    return { ...job, user: pseudonym, name: job.name.replace(word, `$1${pseudonym}$2`).replace(word, `$1${pseudonym}$2`) };
  }
}
