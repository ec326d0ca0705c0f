// Which slurmrestd endpoint a request goes to, and when that changes (`slurm.load_balancing`).
//
// Every endpoint starts up. `failover_threshold` consecutive failures mark it down; one success
// marks it up again. Outcomes come from requests (no connection, no answer in time, an answer cut
// off: failures; any complete answer below HTTP 500: success) and from health checks
// (GET /slurm/vX/ping on every endpoint every `health_check_interval`; below 500 is healthy).
// An outcome counts only if no other outcome of that endpoint was recorded while its attempt
// was in flight, and the requests of one poll share one attempt (RestRequest.round): a poll is
// one failure, not the eight of its parallel requests.
//
// Strategies:
//   failover     the first healthy endpoint in configured order is in use. After a failover the
//                agent moves back to a higher-priority endpoint once it has answered
//                `failover_threshold` consecutive checks (fail back).
//   round_robin  each poll goes to the next healthy endpoint in turn (`rotate()`).
// A request tries the endpoint in use, then the other healthy ones, then the down ones (a last
// resort: the agent never gives up while anything answers).
//
// Every down, up and switch of the endpoint in use is a FleetEvent (see controller-events.ts);
// the rotation of round_robin is not a switch.
import type { FleetEvent } from '../../../generated/fleet/v1/agent.js';
import { controllerEvent, type EventStamp } from './controller-events.js';

export type LoadBalancingStrategy = 'failover' | 'round_robin';

export interface LoadBalancing {
  strategy: LoadBalancingStrategy;
  /** Ping every endpoint this often, in ms; 0 = no health checks, only request outcomes. */
  healthCheckIntervalMs: number;
  /** Consecutive failures that mark an endpoint down (>= 1). */
  failoverThreshold: number;
  /** Consecutive successes a higher-priority endpoint needs before `failover` moves back to it; default failoverThreshold. */
  failbackChecks?: number;
}

/** How the transport behaved before load balancing existed: move on at the first failure, stay. */
export const STICKY: LoadBalancing = Object.freeze({ strategy: 'failover', healthCheckIntervalMs: 0, failoverThreshold: 1 });

export interface EndpointStatus {
  endpoint: string;
  up: boolean;
  in_use: boolean;
  consecutive_failures: number;
  consecutive_successes: number;
  last_error?: string;
}

/** Undefined when healthy, else why not. */
export type Probe = (index: number) => Promise<string | undefined>;

interface EndpointState {
  url: string;
  up: boolean;
  failures: number;
  successes: number;
  /** Outcomes recorded so far: the token an attempt starts with. */
  outcomes: number;
  lastError?: string;
  checking: boolean;
}

export interface EndpointPoolDeps extends Partial<EventStamp> {
  onEvent?: (event: FleetEvent) => void;
}

export class EndpointPool {
  private readonly states: EndpointState[];
  private inUse = 0;
  private timer?: NodeJS.Timeout;
  private checking?: Promise<void>;
  private stopped = false;
  private readonly stamp: EventStamp;

  constructor(
    urls: readonly string[],
    private readonly options: LoadBalancing,
    private readonly deps: EndpointPoolDeps = {},
  ) {
    if (urls.length === 0) throw new Error('an endpoint pool needs at least one endpoint');
    if (!(Number.isInteger(options.failoverThreshold) && options.failoverThreshold >= 1)) throw new Error('failover_threshold must be an integer >= 1');
    this.states = urls.map((url) => ({ url, up: true, failures: 0, successes: 0, outcomes: 0, checking: false }));
    this.stamp = { cluster: deps.cluster ?? '', clock: deps.clock, newId: deps.newId };
  }

  /** The endpoint in use. */
  get active(): string {
    return this.states[this.inUse].url;
  }

  get activeIndex(): number {
    return this.inUse;
  }

  /** Endpoint indexes in the order a request tries them. */
  order(): number[] {
    const n = this.states.length;
    const rest: number[] = [];
    for (let k = 1; k < n; k++) rest.push(this.options.strategy === 'round_robin' ? (this.inUse + k) % n : k - (k <= this.inUse ? 1 : 0));
    const others = rest.filter((i) => i !== this.inUse);
    return [this.inUse, ...others.filter((i) => this.states[i].up), ...others.filter((i) => !this.states[i].up)];
  }

  /** Starts an attempt on an endpoint; pass the token back with its outcome. */
  begin(index: number): number {
    return this.states[index].outcomes;
  }

  succeeded(index: number, token: number): void {
    const s = this.states[index];
    if (token !== s.outcomes) return;
    s.outcomes++;
    s.failures = 0;
    s.successes++;
    if (!s.up) {
      s.up = true;
      this.emit(controllerEvent(this.stamp, 'controller_up', 'info', `slurmrestd ${s.url} answers again`, { component: 'slurmrestd', endpoint: s.url, reason: 'answered' }));
    }
    this.reselect();
  }

  failed(index: number, token: number, reason: string): void {
    const s = this.states[index];
    if (token !== s.outcomes) return;
    s.outcomes++;
    s.successes = 0;
    s.failures++;
    s.lastError = reason;
    if (s.up && s.failures >= this.options.failoverThreshold) {
      s.up = false;
      const othersUp = this.states.some((o) => o !== s && o.up);
      this.emit(
        controllerEvent(this.stamp, 'controller_down', othersUp ? 'warning' : 'critical', `slurmrestd ${s.url} is down after ${s.failures} consecutive failures (last: ${reason})`, {
          component: 'slurmrestd',
          endpoint: s.url,
          reason,
          failures: String(s.failures),
        }),
      );
    }
    this.reselect();
  }

  /** round_robin: the next poll goes to the next healthy endpoint. No event: this is the strategy, not a switch. */
  rotate(): void {
    if (this.options.strategy !== 'round_robin') return;
    const next = this.nextUpAfter(this.inUse);
    if (next !== undefined) this.inUse = next;
  }

  status(): EndpointStatus[] {
    return this.states.map((s, i) => ({
      endpoint: s.url,
      up: s.up,
      in_use: i === this.inUse,
      consecutive_failures: s.failures,
      consecutive_successes: s.successes,
      ...(s.lastError ? { last_error: s.lastError } : {}),
    }));
  }

  /** Probes every endpoint once (those whose previous probe still runs are skipped). */
  async checkAll(probe: Probe): Promise<void> {
    await Promise.all(
      this.states.map(async (s, i) => {
        if (s.checking) return;
        s.checking = true;
        const token = this.begin(i);
        try {
          const problem = await probe(i).catch((err: unknown) => (err instanceof Error ? err.message : String(err)));
          if (this.stopped) return;
          if (problem === undefined) this.succeeded(i, token);
          else this.failed(i, token, problem);
        } finally {
          s.checking = false;
        }
      }),
    );
  }

  /** Health checks every healthCheckIntervalMs until stop(); a no-op when the interval is 0. */
  start(probe: Probe): void {
    if (this.options.healthCheckIntervalMs <= 0 || this.timer || this.stopped) return;
    const tick = (): void => {
      this.checking = this.checkAll(probe).finally(() => {
        this.checking = undefined;
        if (!this.stopped) this.schedule(tick);
      });
    };
    this.schedule(tick);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.checking;
  }

  private schedule(tick: () => void): void {
    this.timer = setTimeout(tick, this.options.healthCheckIntervalMs);
    this.timer.unref();
  }

  /** Moves off a down endpoint, or (failover) back to a higher-priority one healthy long enough. */
  private reselect(): void {
    const current = this.states[this.inUse];
    let target: number | undefined;
    let reason = '';
    let failback = false;
    if (!current.up) {
      target = this.options.strategy === 'round_robin' ? this.nextUpAfter(this.inUse) : this.states.findIndex((s) => s.up);
      if (target === -1) target = undefined;
      reason = `${current.url} is down (${current.lastError ?? 'failed'})`;
    } else if (this.options.strategy === 'failover') {
      const needed = this.options.failbackChecks ?? this.options.failoverThreshold;
      for (let i = 0; i < this.inUse; i++) {
        const s = this.states[i];
        if (s.up && s.successes >= needed) {
          target = i;
          failback = true;
          reason = `fail back: ${s.url} has been healthy for ${s.successes} consecutive checks`;
          break;
        }
      }
    }
    if (target === undefined || target === this.inUse) return;
    const from = current.url;
    const to = this.states[target].url;
    this.inUse = target;
    this.emit(
      controllerEvent(this.stamp, 'controller_failover', failback ? 'info' : 'warning', `slurmrestd switched from ${from} to ${to}: ${reason}`, {
        component: 'slurmrestd',
        from_endpoint: from,
        to_endpoint: to,
        reason,
        strategy: this.options.strategy,
      }),
    );
  }

  private nextUpAfter(index: number): number | undefined {
    const n = this.states.length;
    for (let k = 1; k < n; k++) {
      const i = (index + k) % n;
      if (this.states[i].up) return i;
    }
    return undefined;
  }

  private emit(event: FleetEvent): void {
    this.deps.onEvent?.(event);
  }
}
