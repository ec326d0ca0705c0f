// The alerting state in the data directory (<data_dir>/alerting/state.json): alerts, groups with
// their escalation deadlines, API silences, used ack-link nonces, the outbox (sends claimed
// but not yet settled) and the tickets ServiceNow and Jira opened. Written whole, atomically (temp file, fsync, rename) after each change,
// before the sends go out: a hub restarted mid-escalation continues it; a send claimed and not
// settled is sent again, marked possible_duplicate.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { GroupState } from './dispatch/index.js';
import type { AlertHistory } from './history.js';
import type { Alert } from './model.js';
import type { Notification } from './notify/index.js';
import type { Silence } from './silences/index.js';

export interface OutboxEntry {
  channel: string;
  notification: Notification;
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

export class AlertingStore {
  constructor(private readonly path: string | undefined) {}

  load(): AlertingSnapshot {
    if (!this.path || !existsSync(this.path)) return emptySnapshot();
    const parsed = JSON.parse(readFileSync(this.path, 'utf8')) as Partial<AlertingSnapshot>;
    return { ...emptySnapshot(), ...parsed, version: 1 };
  }

  save(snapshot: AlertingSnapshot): void {
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
