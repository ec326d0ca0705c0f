export { TenantRateLimitedError, TenantRateLimiter, type RateLimit } from './tenant-rate.js';
