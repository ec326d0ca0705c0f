// Per-tenant API rate limits: one token bucket per tenant, so one tenant flooding the API gets 429
// with Retry-After and the others keep their share. Fleet-wide callers (operators, hub
// certificates) are not limited here. In a hub group the bucket is shared in Redis (one budget
// whichever hub a request reaches); when Redis cannot answer, each hub counts alone with a bucket
// of its own (the group then allows up to one budget per hub), logs it once and says so in
// sfleet_tenant_rate_shared.
import { status as GrpcStatus } from '@grpc/grpc-js';
import { Counter, Gauge, type Registry } from 'prom-client';
import { FleetError } from '../../shared/errors/index.js';
import type { Clock } from '../../shared/clock/index.js';
import type { Logger } from '../../shared/logging/index.js';
import { TokenBucket, type RateLimit } from './bucket.js';
import type { SharedBuckets } from './shared-buckets.js';

export class TenantRateLimitedError extends FleetError {
  constructor(readonly tenant: string, retryAfterMs: number) {
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    super('SF_TENANT_RATE_LIMITED', `tenant ${tenant} is over its API rate limit: try again in ${seconds}s`, 429, GrpcStatus.RESOURCE_EXHAUSTED, { retry_after: seconds });
  }
}

export interface TenantRateDeps {
  clock: Clock;
  /** The group's buckets (Redis); absent: a standalone hub, every bucket is local. */
  shared?: SharedBuckets;
  logger?: Logger;
}

export class TenantRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  private refused?: Counter<'tenant'>;
  /** False while the shared store fails: this hub counts alone. */
  private sharing = true;

  constructor(private readonly limitOf: (tenant: string) => RateLimit | undefined, private readonly deps: TenantRateDeps) {}

  /** Rejects with TenantRateLimitedError when `tenant` has no token left; a tenant without a limit always passes. */
  async admit(tenant: string): Promise<void> {
    const limit = this.limitOf(tenant);
    if (!limit) return;
    const wait = await this.take(tenant, limit);
    if (wait > 0) {
      this.refused?.inc({ tenant });
      throw new TenantRateLimitedError(tenant, wait);
    }
  }

  private async take(tenant: string, limit: RateLimit): Promise<number> {
    if (this.deps.shared) {
      try {
        const wait = await this.deps.shared.take(tenant, limit);
        if (!this.sharing) this.deps.logger?.info('tenant rate limits: Redis answers again; the hub group shares one budget per tenant');
        this.sharing = true;
        return wait;
      } catch (err) {
        if (this.sharing) this.deps.logger?.warn({ err: (err as Error).message }, 'tenant rate limits: Redis cannot be reached; this hub counts each tenant alone until it can');
        this.sharing = false;
      }
    }
    const now = this.deps.clock.now();
    let bucket = this.buckets.get(tenant);
    if (!bucket) this.buckets.set(tenant, (bucket = new TokenBucket(limit, now)));
    return bucket.take(now);
  }

  /**
   * sfleet_tenant_rate_limited_total{tenant}: requests refused with 429; sfleet_tenant_rate_shared:
   * 1 while the budgets are the group's (or the hub is standalone), 0 while this hub counts alone.
   * (/metrics is fleet-wide callers' only.)
   */
  registerMetrics(registry: Registry): void {
    this.refused = new Counter({ name: 'sfleet_tenant_rate_limited_total', help: 'API requests refused (429) by a tenant rate limit', labelNames: ['tenant'], registers: [registry] });
    const shared: Gauge = new Gauge({
      name: 'sfleet_tenant_rate_shared',
      help: "1: tenant rate limits count in the hub group's shared store (or the hub is standalone); 0: Redis cannot be reached and this hub counts alone",
      registers: [registry],
      collect: () => shared.set(this.sharing ? 1 : 0),
    });
  }
}
