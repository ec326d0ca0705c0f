// Scheduled key rotation (security.encryption.data_at_rest.key_rotation_interval): a leader-only
// singleton that, once the interval has passed since the last rotation, creates a new version of
// the key-encryption key and re-wraps the data keys of the leader's sealed files to it (the same
// work as `sfleet keys rotate`), then records it in the audit log.
//
// When the last rotation happened is kept through the leader context (etcd in a hub group, so a
// new leader continues the schedule instead of restarting it) and in the data directory (so a
// standalone hub that restarts more often than the interval still rotates). A schedule with no
// record yet starts now: the first rotation comes one interval after encryption was scheduled.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isoNow, type Clock } from '../../shared/clock/index.js';
import type { AtRest } from '../../shared/crypto/index.js';
import type { Logger } from '../../shared/logging/index.js';
import type { AuditLog } from '../audit/index.js';
import { periodic, type LeaderContext, type Singleton } from '../leader/index.js';

// The schedule's key among the leader's singleton keys (etcd in a group): every hub reads it (key-rewrap.ts).
const KEY = 'key-rotation';
const FILE = 'key-rotation.json';

export interface RotationRecord {
  /** When the last rotation ran (or the schedule started), ISO 8601. */
  at: string;
  /** The key version it rotated to; absent when the schedule only started. */
  version?: number;
  hub_id?: string;
}

export interface KeyRotationDeps {
  atRest: AtRest;
  /** The directories whose sealed files are re-wrapped (the hub's data_dir). */
  roots: string[];
  dataDir: string;
  clock: Clock;
  audit: Pick<AuditLog, 'record'>;
  logger: Logger;
}

export interface KeyRotationOptions {
  intervalMs: number;
  /** How often the leader looks whether a rotation is due (the interval's twentieth, at most a minute). */
  checkMs?: number;
}

export type CheckOutcome = 'started' | 'not-due' | 'rotated' | 'failed';

export class KeyRotationSchedule {
  constructor(
    private readonly deps: KeyRotationDeps,
    private readonly opts: KeyRotationOptions,
  ) {}

  singleton(): Singleton {
    const checkMs = this.opts.checkMs ?? rotationCheckMs(this.opts.intervalMs);
    return periodic('key-rotation', checkMs, async (ctx) => void (await this.check(ctx)));
  }

  /** One look: rotates when due. Exposed for the singleton and its tests. */
  async check(ctx: LeaderContext): Promise<CheckOutcome> {
    const last = (await this.read(ctx)) ?? undefined;
    const now = this.deps.clock.now();
    if (!last) {
      await this.write(ctx, { at: isoNow(this.deps.clock) });
      this.deps.logger.info({ interval_ms: this.opts.intervalMs }, 'key rotation scheduled');
      return 'started';
    }
    if (now - Date.parse(last.at) < this.opts.intervalMs) return 'not-due';
    ctx.assertLeading();
    const what = this.deps.atRest.describe();
    let result: Awaited<ReturnType<AtRest['rotate']>>;
    try {
      result = await this.deps.atRest.rotate(this.deps.roots);
    } catch (err) {
      // The key service is down or the keyring unwritable: audited, and tried again at the next look.
      await this.deps.audit.record({ action: 'keys:rotate', resource: `key ${what}`, outcome: 'error', reason: (err as Error).message, transport: 'internal', user: null, required: true });
      this.deps.logger.error({ err: (err as Error).message, key: what }, 'scheduled key rotation failed; retried at the next check');
      return 'failed';
    }
    const failed = result.failed.length;
    // Recorded before the schedule moves on: a crash (or a lost leadership) between the two
    // rotates again at the next look, harmlessly (a re-wrap to the newest version is idempotent).
    await this.deps.audit.record({
      action: 'keys:rotate',
      resource: `key ${what} v${result.version}`,
      outcome: failed ? 'failed' : 'success',
      ...(failed ? { reason: `${failed} file(s) could not be re-wrapped; they stay readable with their previous key version` } : {}),
      transport: 'internal',
      user: null,
      required: true,
    });
    this.deps.logger.info({ key: what, version: result.version, rewrapped: result.rewrapped.length, current: result.current.length, failed }, 'scheduled key rotation done');
    await this.write(ctx, { at: isoNow(this.deps.clock), version: result.version, hub_id: ctx.hubId });
    return failed ? 'failed' : 'rotated';
  }

  private async read(ctx: LeaderContext): Promise<RotationRecord | undefined> {
    const shared = await ctx.get(KEY);
    if (shared) return parseRecord(shared);
    return readRotationRecord(this.deps.dataDir);
  }

  private async write(ctx: LeaderContext, record: RotationRecord): Promise<void> {
    const text = JSON.stringify(record);
    await ctx.put(KEY, text);
    const path = join(this.deps.dataDir, FILE);
    writeFileSync(`${path}.tmp`, text + '\n', { mode: 0o600 });
    renameSync(`${path}.tmp`, path);
  }
}

/** How often the leader looks whether a rotation is due, and each hub whether to follow it: the interval's twentieth, 1 s to 1 min. */
export function rotationCheckMs(intervalMs: number): number {
  return Math.min(60_000, Math.max(1_000, Math.floor(intervalMs / 20)));
}

/** Where a hub reads the version the schedule last rotated to: the group's record in etcd, or (standalone) its data dir. */
export function groupKeyVersion(dataDir: string, shared?: { singletonValue(key: string): Promise<string | undefined> }): () => Promise<number | undefined> {
  return async () => (shared ? parseRecord((await shared.singletonValue(KEY)) ?? '') : readRotationRecord(dataDir))?.version;
}

/** The schedule's record as this hub's data dir keeps it (a standalone hub; the leader's copy). */
export function readRotationRecord(dataDir: string): RotationRecord | undefined {
  try {
    return parseRecord(readFileSync(join(dataDir, FILE), 'utf8'));
  } catch {
    return undefined;
  }
}

function parseRecord(text: string): RotationRecord | undefined {
  try {
    const r = JSON.parse(text) as RotationRecord;
    return typeof r.at === 'string' && Number.isFinite(Date.parse(r.at)) ? r : undefined;
  } catch {
    return undefined;
  }
}
