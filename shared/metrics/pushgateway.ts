// Pushes a registry to a Prometheus Pushgateway on a timer, off the data path: a push that
// hangs or fails never delays polling or ingest (fire and forget, with a timeout). Failures are
// counted (<prefix>push_failures_total) and logged at most once per minute. On a clean close the
// group is deleted, so a group left behind means the process did not stop cleanly; the
// Pushgateway's own push_time_seconds says how stale it is.
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../logging/index.js';

export interface PushOptions {
  url: string;
  /** Grouping key, in order: job first (e.g. {job:'sfleet-agent', cluster, agent}). */
  grouping: [string, string][];
  intervalMs: number;
  /** Counter name prefix, e.g. sfleet_agent_ or sfleet_hub_. */
  prefix: string;
  timeoutMs?: number;
}

const LOG_EVERY_MS = 60_000;

export class PushgatewayPusher {
  private timer?: NodeJS.Timeout;
  private readonly failures: Counter<'reason'>;
  private readonly groupUrl: string;
  /** Basic auth from user:password in the URL (fetch refuses a URL with credentials). */
  private readonly auth: Record<string, string> = {};
  private lastLogAt = -Infinity;
  private inFlight = false;

  constructor(
    /** Pushed as one group (a PUT replaces the group); the failure counter goes in the first. */
    private readonly deps: { registries: Registry[]; logger: Logger },
    private readonly opts: PushOptions,
  ) {
    const url = new URL(opts.url);
    if (url.username || url.password) {
      this.auth = { authorization: `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}` };
      url.username = '';
      url.password = '';
    }
    this.groupUrl = groupUrl(url.toString(), opts.grouping);
    this.failures = new Counter({ name: `${opts.prefix}push_failures_total`, help: 'Pushes to the Pushgateway that failed, by reason', labelNames: ['reason'], registers: deps.registries.slice(0, 1) });
  }

  start(): void {
    void this.push();
    this.timer = setInterval(() => void this.push(), this.opts.intervalMs);
    this.timer.unref();
  }

  /** One push; never throws. A push still running when the next is due is skipped, not queued. */
  async push(): Promise<boolean> {
    if (this.inFlight) return false;
    this.inFlight = true;
    try {
      const body = (await Promise.all(this.deps.registries.map((r) => r.metrics()))).join('');
      const res = await fetch(this.groupUrl, { method: 'PUT', body, headers: { ...this.auth, 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }, signal: AbortSignal.timeout(this.opts.timeoutMs ?? 5_000) });
      if (!res.ok) {
        this.failed('status', `Pushgateway answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
        return false;
      }
      return true;
    } catch (err) {
      this.failed((err as Error).name === 'TimeoutError' ? 'timeout' : 'unreachable', (err as Error).message);
      return false;
    } finally {
      this.inFlight = false;
    }
  }

  /** Stops pushing and deletes the group (clean shutdown). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    try {
      const res = await fetch(this.groupUrl, { method: 'DELETE', headers: this.auth, signal: AbortSignal.timeout(2_000) });
      if (!res.ok) this.deps.logger.warn({ status: res.status }, 'could not delete the Pushgateway group');
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, 'could not delete the Pushgateway group');
    }
  }

  private failed(reason: string, message: string): void {
    this.failures.inc({ reason });
    const now = Date.now();
    if (now - this.lastLogAt < LOG_EVERY_MS) return;
    this.lastLogAt = now;
    this.deps.logger.warn({ err: message, url: redact(this.opts.url) }, 'push to the Pushgateway failed (logged at most once a minute; see the push_failures_total metric)');
  }
}

/** `<url>/metrics/job/<job>/<label>/<value>...`; values base64url-encoded when they hold a slash. */
export function groupUrl(base: string, grouping: [string, string][]): string {
  const path = grouping
    .map(([k, v]) => (v.includes('/') || v === '' ? `${k}@base64/${Buffer.from(v).toString('base64url') || '='}` : `${k}/${encodeURIComponent(v)}`))
    .join('/');
  return `${base.replace(/\/+$/, '')}/metrics/${path}`;
}

/** A URL for a log line: no user info. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}
