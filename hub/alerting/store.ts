// The alerting state: alerts, groups with their escalation deadlines, API silences, used ack-link
// nonces, the outbox (sends claimed but not yet settled), the tickets ServiceNow and Jira opened
// and the open timelines. Written whole after each change and before the sends of that change go
// out (the claim), so whoever continues (the restarted hub, or a hub group's next leader) knows
// every deadline and every send that may or may not have left: a send claimed and not settled is
// sent again, marked possible_duplicate.
//
// Two homes, one interface:
//   standalone   <data_dir>/alerting/state.json, atomically (temp file, fsync, rename)
//   hub group    one document in the region's Redis, written only under the leader's fencing
//                token (hub/replication/fenced-document.ts): a deposed leader's late write is
//                refused, so it can neither overwrite its successor's state nor claim a send.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../../shared/logging/index.js';
import { FencedOffError } from '../leader/index.js';
import type { FencedDocument } from '../replication/index.js';
import type { GroupState } from './dispatch/index.js';
import type { AlertHistory } from './history.js';
import type { Alert } from './model.js';
import type { Notification } from './notify/index.js';
import type { Silence } from './silences/index.js';

export interface OutboxEntry {
  channel: string;
  notification: Notification;
  /** W3C traceparents of the alerts' fire spans: the notify spans' parent and links (deliver.ts). */
  causes?: string[];
}

export interface AlertingSnapshot {
  version: 1;
  alerts: Alert[];
  groups: GroupState[];
  silences: Silence[];
  used_nonces: Record<string, number>;
  outbox: OutboxEntry[];
  /** Ticketing channels' tickets per episode (channel:dedup_key -> sys_id or issue key). */
  tickets: Record<string, string>;
  /** The timelines of alerts not yet resolved (history.ts). */
  timelines: Record<string, AlertHistory>;
}

export function emptySnapshot(): AlertingSnapshot {
  return { version: 1, alerts: [], groups: [], silences: [], used_nonces: {}, outbox: [], tickets: {}, timelines: {} };
}

/** The stored text is not an alerting state (damaged, or written by something else). */
export class DamagedStateError extends Error {}

function parseSnapshot(text: string): AlertingSnapshot {
  let parsed: Partial<AlertingSnapshot>;
  try {
    parsed = JSON.parse(text) as Partial<AlertingSnapshot>;
  } catch (err) {
    throw new DamagedStateError(`the alerting state is not JSON: ${(err as Error).message}`);
  }
  const snap = { ...emptySnapshot(), ...parsed, version: 1 as const };
  const lists = [snap.alerts, snap.groups, snap.silences, snap.outbox];
  if (typeof parsed !== 'object' || parsed === null || !lists.every(Array.isArray)) throw new DamagedStateError('the alerting state does not have the shape of one');
  return snap;
}

export interface AlertingStateStore {
  /** True for the region's shared store: only the leader writes, with its fencing token. */
  readonly shared: boolean;
  load(): Promise<AlertingSnapshot>;
  /** Resolves once the state is durable; a shared store refuses (FencedOffError) a stale or missing token. */
  save(snapshot: AlertingSnapshot, token: number | undefined): Promise<void>;
}

/** The data directory's state.json (standalone). Loads and saves synchronously underneath. */
export class AlertingStore implements AlertingStateStore {
  readonly shared = false;
  constructor(private readonly path: string | undefined) {}

  loadSync(): AlertingSnapshot {
    if (!this.path || !existsSync(this.path)) return emptySnapshot();
    return parseSnapshot(readFileSync(this.path, 'utf8'));
  }

  async load(): Promise<AlertingSnapshot> {
    return this.loadSync();
  }

  async save(snapshot: AlertingSnapshot): Promise<void> {
    this.saveSync(snapshot);
  }

  saveSync(snapshot: AlertingSnapshot): void {
    if (!this.path) return;
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(snapshot));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
  }
}

/** The region's shared store (a hub group): one fenced document. */
export class SharedAlertingStore implements AlertingStateStore {
  readonly shared = true;
  constructor(private readonly document: FencedDocument) {}

  async load(): Promise<AlertingSnapshot> {
    const text = await this.document.get();
    return text === undefined ? emptySnapshot() : parseSnapshot(text);
  }

  async save(snapshot: AlertingSnapshot, token: number | undefined): Promise<void> {
    if (token === undefined) throw new FencedOffError('only the leader of the region writes the alerting state');
    await this.document.put(token, JSON.stringify(snapshot));
  }
}

/**
 * Writes the state and answers whether the sends claimed in it may go out. Standalone: written at
 * once (a failed write is logged and the sends still go: paging beats bookkeeping). A hub group:
 * only while leading (token), one write after another, a write waiting in line taking the newest
 * state; a refused write (a newer leader took over) sends nothing, any other failure is logged
 * and the sends go out unclaimed.
 */
export class StateWriter {
  private writing: Promise<unknown> = Promise.resolve();
  private queued?: Promise<boolean>;

  constructor(
    private readonly store: AlertingStateStore,
    private readonly snapshot: () => AlertingSnapshot,
    private readonly token: () => number | undefined,
    private readonly logger: Logger,
  ) {}

  write(): Promise<boolean> {
    if (this.store instanceof AlertingStore) {
      try {
        this.store.saveSync(this.snapshot());
      } catch (err) {
        this.logger.error({ err: (err as Error).message }, 'alerting: could not write the alerting state');
      }
      return Promise.resolve(true);
    }
    if (this.token() === undefined) return Promise.resolve(false);
    if (this.queued) return this.queued;
    const queued = this.writing.then(() => {
      this.queued = undefined;
      const token = this.token();
      if (token === undefined) return false;
      return this.store.save(this.snapshot(), token).then(
        () => true,
        (err: Error) => {
          if (err instanceof FencedOffError || (err as { code?: string }).code === 'SF_LEADER_FENCED') {
            this.logger.warn({ err: err.message }, 'alerting: a newer leader holds the alerting state; this hub sends nothing more');
            return false;
          }
          this.logger.error({ err: err.message }, 'alerting: could not write the alerting state (sends go out unclaimed)');
          return true;
        },
      );
    });
    this.queued = queued;
    this.writing = queued;
    return queued;
  }
}
