// One in-flight byte budget for callers not yet authorized (issue 12, item 1): the bodies of
// anonymous requests on public routes (logins, SSO posts) are read before anyone knows who
// sent them. Each such request reserves its declared length (or the route's body limit when it
// declares none) before one byte is read, and gives it back when the answer is sent or the
// connection ends; while the budget is spent the hub answers 503 at once, so a flood of slow
// anonymous bodies holds at most `total` bytes and authorized callers are not counted at all.
import { UnavailableError } from '../../shared/errors/index.js';

export class InFlightBudgetError extends UnavailableError {
  constructor(total: number) {
    super('SF_API_BUSY', `too many request bodies from callers not yet authorized are being read (${Math.round(total / 1024 / 1024)} MiB, http.unauthorized_in_flight): try again in a moment`);
  }
}

export class ByteBudget {
  private used = 0;
  /** Requests refused because the budget was spent. */
  refused = 0;

  constructor(readonly total: number) {}

  get inUse(): number {
    return this.used;
  }

  /** Reserves `bytes` and returns its release (idempotent), or throws InFlightBudgetError. */
  take(bytes: number): () => void {
    if (bytes <= 0) return () => undefined;
    if (this.used + bytes > this.total) {
      this.refused++;
      throw new InFlightBudgetError(this.total);
    }
    this.used += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= bytes;
    };
  }
}
