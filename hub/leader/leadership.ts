// Who leads the region, what this hub runs because of it, and who the region's members are.
// Standalone mode (no etcd) is a region of one that always leads.
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { writeAtomically } from '../../shared/record-log/index.js';
import type { Logger } from '../../shared/logging/index.js';
import { isStale } from '../fleet/index.js';
import { FencedOffError, type LeaderContext } from './fencing.js';
import { SingletonRunner } from './singletons.js';
import { isoNow, systemClock, type Clock } from '../../shared/clock/index.js';

/** What a hub says about itself in its membership record. */
export interface LocalHealth {
  ready: boolean;
  /** 'ok', 'down: <why>' or 'off' (not configured). */
  redis: string;
  /** Clusters whose data this hub cannot vouch for right now (replication). */
  stale_clusters: string[];
  /** Clusters whose agent streams to this hub. */
  ingesting: string[];
}

export interface MemberIdentity {
  hub_id: string;
  region: string;
  http_url: string;
  grpc_address: string;
  version: string;
  /** The name in the hub's own certificate: the group's hubs accept forwarded commands only from a member's. */
  tls_name?: string;
}

export interface MemberView extends MemberIdentity, LocalHealth {
  pid: number;
  started_at: string;
  updated_at: string;
  leader: boolean;
  /** ok: ready and fresh; degraded: up but Redis is down or data is stale; stale: its record is old. */
  health: 'ok' | 'degraded' | 'stale';
}

export interface LeadershipStatus {
  mode: 'standalone' | 'clustered';
  /** 'ok', 'unreachable: <why>' or 'off' (standalone). */
  etcd: string;
  leading: boolean;
  /** hub_id of the region's leader, when known. */
  leader: string | null;
  /** This hub's fencing token while it leads. */
  token: number | null;
  leading_since: string | null;
  singletons: string[];
}

export interface MemberList {
  region: string;
  leader: string | null;
  items: MemberView[];
  /** Set when the list could not be read (then it holds only this hub). */
  error?: string;
}

export interface Leadership extends EventEmitter {
  readonly runner: SingletonRunner;
  start(): void;
  status(): LeadershipStatus;
  members(): Promise<MemberList>;
  close(): Promise<void>;
  on(event: 'elected', listener: (token: number) => void): this;
  on(event: 'deposed', listener: (reason: string) => void): this;
}

export function healthOf(v: Omit<MemberView, 'health'>, now: number, staleAfterMs: number): MemberView['health'] {
  if (isStale(Date.parse(v.updated_at), now, staleAfterMs)) return 'stale';
  if (!v.ready || v.redis.startsWith('down') || v.stale_clusters.length > 0) return 'degraded';
  return 'ok';
}

export interface LeadershipDeps {
  logger: Logger;
  identity: MemberIdentity;
  health: () => LocalHealth;
  /** Where member records and leader terms read the time (default: the system clock). */
  clock?: Clock;
  /** Standalone: the file that keeps singleton keys across restarts (written durably on each put). */
  stateFile?: string;
}

/** The standalone hub: always the leader, token 1, singleton keys in memory and, with a stateFile, on disk. */
export class StandaloneLeadership extends EventEmitter implements Leadership {
  readonly runner: SingletonRunner;
  private readonly clock: Clock;
  private readonly startedAt: string;
  private controller?: AbortController;
  private since: string | null = null;
  private values = new Map<string, string>();

  constructor(private readonly deps: LeadershipDeps) {
    super();
    this.clock = deps.clock ?? systemClock;
    this.startedAt = isoNow(this.clock);
    this.runner = new SingletonRunner({ logger: deps.logger });
    if (deps.stateFile) this.values = loadState(deps.stateFile, deps.logger);
  }

  start(): void {
    if (this.controller) return;
    const controller = (this.controller = new AbortController());
    this.since = isoNow(this.clock);
    const ctx: LeaderContext = {
      region: this.deps.identity.region,
      hubId: this.deps.identity.hub_id,
      token: 1,
      signal: controller.signal,
      assertLeading: () => {
        if (controller.signal.aborted) throw new FencedOffError('this hub is shutting down');
      },
      put: async (key, value) => {
        if (controller.signal.aborted) throw new FencedOffError('this hub is shutting down');
        const next = new Map(this.values).set(key, value);
        // On disk before it counts: a singleton that acted on it (jobs held, limits written) finds it after a restart.
        if (this.deps.stateFile) writeAtomically(this.deps.stateFile, Buffer.from(JSON.stringify(Object.fromEntries(next))));
        this.values = next;
      },
      get: async (key) => this.values.get(key),
    };
    this.runner.start(ctx);
    this.emit('elected', 1);
  }

  status(): LeadershipStatus {
    return {
      mode: 'standalone',
      etcd: 'off',
      leading: true,
      leader: this.deps.identity.hub_id,
      token: 1,
      leading_since: this.since,
      singletons: this.runner.active,
    };
  }

  async members(): Promise<MemberList> {
    const now = isoNow(this.clock);
    const base = { ...this.deps.identity, ...this.deps.health(), pid: process.pid, started_at: this.startedAt, updated_at: now, leader: true };
    return { region: this.deps.identity.region, leader: this.deps.identity.hub_id, items: [{ ...base, health: healthOf(base, this.clock.now(), 60_000) }] };
  }

  async close(): Promise<void> {
    this.controller?.abort();
    await this.runner.settled();
  }
}

/** The standalone leader's keys from its file; an unreadable file is logged and the keys start empty. */
function loadState(file: string, logger: Logger): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') logger.error({ file, err: (err as Error).message }, 'cannot read the leader state; singletons start without it');
    return new Map();
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed) || Object.values(parsed).some((v) => typeof v !== 'string')) throw new Error('not an object of strings');
    return new Map(Object.entries(parsed as Record<string, string>));
  } catch (err) {
    logger.error({ file, err: (err as Error).message }, 'the leader state file is damaged; singletons start without it');
    return new Map();
  }
}
