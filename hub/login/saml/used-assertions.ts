// Assertion IDs already turned into sessions, kept until the assertion would have expired
// anyway: a captured response posted again (even with its unsigned InResponseTo stripped) is
// refused. Bounded, so a flood of valid logins cannot grow it without end.
const MAX_ENTRIES = 100_000;

/** The replay cache: this hub's memory, or the hub group's security store. */
export interface ReplayCache {
  /** True the first time an ID is seen before `until` (region-wide when shared); false for a replay. */
  claim(id: string, until: number): boolean | Promise<boolean>;
}

export class UsedAssertions implements ReplayCache {
  private readonly used = new Map<string, number>();
  constructor(private readonly now: () => number = Date.now) {}

  /** True the first time an ID is seen before `until`; false for a replay. */
  claim(id: string, until: number): boolean {
    const now = this.now();
    for (const [key, expires] of this.used) {
      if (expires > now && this.used.size < MAX_ENTRIES) break;
      this.used.delete(key);
    }
    const seen = this.used.get(id);
    if (seen !== undefined && seen > now) return false;
    this.used.delete(id);
    this.used.set(id, until);
    return true;
  }
}
