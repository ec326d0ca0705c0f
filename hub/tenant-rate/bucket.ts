// One tenant's token bucket in this hub's memory: refilled at requests_per_second, holding at most burst.
export interface RateLimit {
  requests_per_second: number;
  burst: number;
}

export class TokenBucket {
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
