// Per-tenant API rate limits: one token bucket per tenant (refilled at requests_per_second, holding
// at most burst), so one tenant flooding the API gets 429 with Retry-After and the others keep
// their share. Fleet-wide callers (operators, hub certificates) are not limited here.
// The buckets live in this hub's memory: a hub group multiplies the rate by its members.
import { status as GrpcStatus } from '@grpc/grpc-js';
import { FleetError } from '../../shared/errors/index.js';
import type { Clock } from '../../shared/clock/index.js';
import { Counter, type Registry } from 'prom-client';

export interface RateLimit {
  requests_per_second: number;
  burst: number;
}

export class TenantRateLimitedError extends FleetError {
  constructor(tenant: string, retryAfterMs: number) {
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    super('SF_TENANT_RATE_LIMITED', `tenant ${tenant} is over its API rate limit: try again in ${seconds}s`, 429, GrpcStatus.RESOURCE_EXHAUSTED, { retry_after: seconds });
  }
}

class TokenBucket {
  private tokens: number;
  private at: number;
  constructor(private readonly limit: RateLimit, now: number) {
    this.tokens = limit.burst;
    this.at = now;
  }

  /** Takes one token; otherwise the milliseconds until one is there. */
  take(now: number): number {
    this.tokens = Math.min(this.limit.burst, this.tokens + ((now - this.at) / 1000) * this.limit.requests_per_second);
    this.at = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return ((1 - this.tokens) / this.limit.requests_per_second) * 1000;
  }
}

export class TenantRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  private refused?: Counter<'tenant'>;

  constructor(private readonly limitOf: (tenant: string) => RateLimit | undefined, private readonly clock: Clock) {}

  /** Throws TenantRateLimitedError when `tenant` has no token left; a tenant without a limit always passes. */
  admit(tenant: string): void {
    const limit = this.limitOf(tenant);
    if (!limit) return;
    const now = this.clock.now();
    let bucket = this.buckets.get(tenant);
    if (!bucket) this.buckets.set(tenant, (bucket = new TokenBucket(limit, now)));
    const wait = bucket.take(now);
    if (wait > 0) {
      this.refused?.inc({ tenant });
      throw new TenantRateLimitedError(tenant, wait);
    }
  }

  /** sfleet_tenant_rate_limited_total{tenant}: requests refused with 429 (/metrics is fleet-wide callers' only). */
  registerMetrics(registry: Registry): void {
    this.refused = new Counter({ name: 'sfleet_tenant_rate_limited_total', help: 'API requests refused (429) by a tenant rate limit', labelNames: ['tenant'], registers: [registry] });
  }
}
