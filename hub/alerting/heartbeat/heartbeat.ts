// The dead man's switch: while paging works, the hub calls a URL every interval (a
// healthchecks.io, Cronitor or Opsgenie-heartbeat style check that raises its own alarm when the
// calls stop). "Paging works" is: the leader completed an evaluation, or, in a hub group without a
// leader, a hub paging by itself did (headless.ts); so a dead leader with nobody taking over, a
// hub group that cannot page at all, or a stuck evaluation loop all stop the calls. The URL is
// a secret (its path is the check's token): it is never logged, and `webhook` is redacted in
// exported configs.
import { z } from 'zod';
import type { Clock } from '../../../shared/clock/index.js';
import { duration } from '../../../shared/config/index.js';
import type { Logger } from '../../../shared/logging/index.js';

export const heartbeatSchema = z
  .object({
    webhook: z.string().regex(/^https?:\/\/[^\s]+$/, 'expected an http(s) URL').describe("The dead man's switch URL called every interval while paging works (its path is a secret: use ${ENV})."),
    interval: duration.refine((ms) => ms >= 1_000, 'at least 1s').default(60_000).describe('How often it is called.'),
    method: z.enum(['GET', 'POST', 'HEAD']).default('GET').describe('The HTTP method of the call.'),
    timeout: duration.default(10_000).describe('Per call.'),
  })
  .strict();

export type HeartbeatConfig = z.infer<typeof heartbeatSchema>;

export class Heartbeat {
  readonly stats = { sent: 0, failed: 0 };
  private lastAt = -Infinity;
  private inflight = false;

  constructor(
    private readonly config: HeartbeatConfig,
    private readonly deps: { clock: Clock; logger: Logger; fetch?: typeof fetch },
  ) {}

  /** Paging works now: calls the URL unless it was called less than an interval ago (or a call is under way). */
  beat(): void {
    const now = this.deps.clock.now();
    if (this.inflight || now - this.lastAt < this.config.interval) return;
    this.lastAt = now;
    this.inflight = true;
    const f = this.deps.fetch ?? fetch;
    f(this.config.webhook, { method: this.config.method, signal: AbortSignal.timeout(this.config.timeout) })
      .then(async (res) => {
        await res.body?.cancel().catch(() => undefined);
        if (res.ok) this.stats.sent++;
        else this.failed(`the heartbeat URL answered ${res.status}`);
      })
      .catch((err: Error) => this.failed(err.name === 'TimeoutError' ? 'timed out' : 'the heartbeat URL cannot be reached'))
      .finally(() => (this.inflight = false));
  }

  private failed(why: string): void {
    this.stats.failed++;
    this.deps.logger.warn({ reason: why }, 'alerting: the heartbeat (dead man\'s switch) call failed');
  }
}
