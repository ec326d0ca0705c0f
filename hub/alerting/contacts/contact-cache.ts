// On-call contacts from the directory (alerting.directory_contacts): a user that a policy or a
// schedule names and alerting.users does not is paged at the `mail` and `mobile` of their entry.
// Recipients are decided synchronously when a step fires (dispatch/recipients.ts), and a directory
// may be slow or down, so paging reads this cache and never the directory: every user is read
// in the background, again each `refresh`, and a user not cached yet is read at once (the next
// evaluation waits for it briefly). While the directory cannot be read, the last known contacts
// are used; each failed read is counted (sfleet_alerting_directory_failures_total) and the outage
// is logged once, with one line when it ends.
import type { Logger } from '../../../shared/logging/index.js';
import type { DirectoryContactsConfig } from '../config.js';

/** The first value of each asked attribute present in the user's entry; undefined: no such entry. */
export type ContactLookup = (user: string, attributes: readonly string[]) => Promise<Record<string, string> | undefined>;

export type CachedContacts =
  | { state: 'known'; found: boolean; mail?: string; mobile?: string }
  /** Never read successfully: why (not read yet, or the directory's error). */
  | { state: 'unknown'; reason: string };

/** How long get() leaves a user whose read failed before reading them again. */
const RETRY_MS = 30_000;

export class ContactCache {
  private readonly known = new Map<string, { found: boolean; mail?: string; mobile?: string }>();
  private readonly wanted = new Set<string>();
  private readonly reading = new Map<string, Promise<void>>();
  private readonly errors = new Map<string, string>();
  /** When a user's last read failed: get() does not read them again before RETRY_MS (the refresh still does). */
  private readonly failedAt = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private down = false;
  /** Reads of the directory that failed (a counter). */
  failures = 0;

  constructor(
    readonly config: DirectoryContactsConfig,
    private readonly lookup: ContactLookup,
    private readonly logger: Logger,
  ) {}

  /** Reads these users now and every `refresh` after (with any user asked for since). */
  start(users: Iterable<string>): void {
    for (const u of users) this.read(u);
    this.timer ??= setInterval(() => this.refresh(), this.config.refresh);
    this.timer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** What is known of the user now; a user never read is read in the background. */
  get(user: string): CachedContacts {
    const c = this.known.get(user);
    if (c) return { state: 'known', ...c };
    // A directory that hangs or refuses is not asked again on every evaluation (each would wait
    // for the read): a failed user is retried after a while, and at every refresh.
    const failed = this.failedAt.get(user);
    if (failed === undefined || Date.now() - failed >= Math.min(RETRY_MS, this.config.refresh)) this.read(user);
    else this.wanted.add(user);
    return { state: 'unknown', reason: this.errors.get(user) ?? 'not read from the directory yet' };
  }

  /** Waits (at most maxMs) for the reads of users never read before: a first page then has their contacts. */
  async ready(maxMs: number): Promise<void> {
    const first = [...this.reading].filter(([u]) => !this.known.has(u)).map(([, p]) => p);
    if (!first.length) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled(first), new Promise<void>((resolve) => (timer = setTimeout(resolve, maxMs)))]);
    clearTimeout(timer);
  }

  /** Reads every user asked for again (the timer's work). */
  refresh(): void {
    for (const u of this.wanted) this.read(u);
  }

  private read(user: string): void {
    this.wanted.add(user);
    if (this.reading.has(user)) return;
    const { mail_attribute: mail, mobile_attribute: mobile } = this.config;
    const p = this.lookup(user, [mail, mobile])
      .then((attrs) => {
        this.known.set(user, { found: !!attrs, ...(attrs?.[mail] ? { mail: attrs[mail] } : {}), ...(attrs?.[mobile] ? { mobile: attrs[mobile] } : {}) });
        this.errors.delete(user);
        this.failedAt.delete(user);
        if (this.down) {
          this.down = false;
          this.logger.info({ failures: this.failures }, 'alerting: the directory answers again; on-call contacts are current');
        }
      })
      .catch((err: unknown) => {
        this.failures++;
        const reason = (err instanceof Error ? err.message : String(err)).split('\n')[0].slice(0, 200);
        this.errors.set(user, reason);
        this.failedAt.set(user, Date.now());
        if (!this.down) {
          this.down = true;
          this.logger.warn({ err: reason }, 'alerting: the directory cannot be read; paging uses the last known on-call contacts until it answers');
        }
      })
      .finally(() => this.reading.delete(user));
    this.reading.set(user, p);
  }
}
