// gRPC's twin of hold-connection.ts: a caller over its tenant's rate limit is refused at once
// (RESOURCE_EXHAUSTED), and the next calls on that connection (grpc-js's peer, address:port) are
// taken up only once its Retry-After has passed. A client looping on refusals then waits on its
// own calls instead of costing the hub a gate and a refusal each, in front of other tenants.
// grpc-js reads the HTTP/2 connection itself (its socket cannot be paused from here), so the call
// is parked before the gate: a timer per parked call, at most MAX_PARKED per connection (past
// that a call is refused at once). A trusted source (http.trusted_sources: a bastion, a proxy
// carrying other tenants' calls) is never held.
import { TenantRateLimitedError } from './tenant-rate.js';

/** At most this long, whatever the Retry-After (as on REST). */
export const MAX_HOLD_MS = 5_000;
/** Calls parked at once on one connection; more are refused without waiting. */
export const MAX_PARKED = 64;
/** Connections remembered at once (the oldest go first). */
const MAX_PEERS = 10_000;

export class PeerHolds {
  private readonly until = new Map<string, { end: number; tenant: string }>();
  private readonly parked = new Map<string, number>();

  constructor(private readonly opts: { exempt?: (peer: string) => boolean; now?: () => number } = {}) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** A call refused with `err`: when it is a tenant rate refusal, the connection is held for its Retry-After. */
  refused(peer: string, err: unknown): void {
    if (!(err instanceof TenantRateLimitedError) || this.opts.exempt?.(peer)) return;
    const seconds = Number(err.detail?.retry_after ?? 1);
    this.until.delete(peer);
    this.until.set(peer, { end: this.now() + Math.min(seconds * 1000, MAX_HOLD_MS), tenant: err.tenant });
    while (this.until.size > MAX_PEERS) this.until.delete(this.until.keys().next().value as string);
  }

  /** Resolves once the connection's hold is over (at once when it has none); rejects when too many of its calls wait already. */
  async wait(peer: string): Promise<void> {
    const hold = this.until.get(peer);
    if (hold === undefined) return;
    const left = hold.end - this.now();
    if (left <= 0) {
      this.until.delete(peer);
      return;
    }
    const n = this.parked.get(peer) ?? 0;
    if (n >= MAX_PARKED) throw new TenantRateLimitedError(hold.tenant, left);
    this.parked.set(peer, n + 1);
    try {
      await new Promise((resolve) => setTimeout(resolve, left));
    } finally {
      const m = (this.parked.get(peer) ?? 1) - 1;
      if (m <= 0) this.parked.delete(peer);
      else this.parked.set(peer, m);
    }
  }
}
