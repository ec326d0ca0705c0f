export { TenantRateLimitedError, TenantRateLimiter, type TenantRateDeps } from './tenant-rate.js';
export type { RateLimit } from './bucket.js';
export { RedisBuckets, type SharedBuckets } from './shared-buckets.js';
export { PeerHolds } from './peer-holds.js';
