// Every hub's half of scheduled key rotation. The leader's schedule (rotation-schedule.ts) creates
// a new key version and re-wraps the leader's own sealed files; each hub of the group has its own
// data directory, so each hub follows here: at every check it reads the version the schedule
// rotated to (the schedule's record in etcd) and re-wraps the data keys of its own sealed files
// that are below it, audited on this hub as keys:rewrap. A failure (a file that could not be
// re-wrapped, a keyring that lacks the version) is retried at the next check; a hub that was down
// catches up at its first check after it starts (the record stays in etcd).
//
// Stores outside the data dir that keep data keys wrapped by the at-rest key (the replication
// stream's records in Redis, shared by the group) are moved at every check, not only once per
// version: a record stored late under the old version is caught at the next check. Each counts in
// oldest_in_use, so the README's retirement rule (oldest_in_use equals group on every hub) holds.
//
// The hub only ever re-wraps to its own key's newest version, and only once that is at least the
// group's: it never seals with a version number it was told about but cannot read.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Gauge, type Registry } from 'prom-client';
import { isoNow, type Clock } from '../../shared/clock/index.js';
import type { AtRest } from '../../shared/crypto/index.js';
import type { Logger } from '../../shared/logging/index.js';
import { writeAtomically } from '../../shared/record-log/index.js';
import type { AuditLog } from '../audit/index.js';

const FILE = 'key-rewrap.json';

/** A store of wrapped data keys outside the data dir (hub/replication/data-key-records.ts). */
export interface WrappedKeyStore {
  readonly what: string;
  oldestVersion(): Promise<number | undefined>;
  rewrapTo(target: number): Promise<{ rewrapped: number; current: number; failed: { id: string; error: string }[] }>;
}

export interface KeyRewrapDeps {
  atRest: AtRest;
  /** The directories whose sealed files this hub re-wraps (its data_dir). */
  roots: string[];
  dataDir: string;
  hubId: string;
  /** The group's key version: the version the leader's schedule last rotated to (undefined: none yet). */
  groupVersion: () => Promise<number | undefined>;
  /** Shared stores of wrapped data keys this hub also moves (the replication data keys in Redis). */
  stores?: WrappedKeyStore[];
  clock: Clock;
  audit: Pick<AuditLog, 'record'>;
  logger: Logger;
}

export type RewrapOutcome = 'idle' | 'current' | 'rewrapped' | 'failed';

export interface KeyVersions {
  /** The version the group rotated to, as last read (undefined: no rotation yet, or not read). */
  group?: number;
  /** The version this hub's files have all been moved to (its record in the data dir). */
  hub?: number;
  /** The lowest version any sealed file of this hub, or any record of its stores, still uses, at the last look. */
  oldest_in_use?: number;
  /** The version new data keys are wrapped with here (local keys; undefined with Vault). */
  sealing?: number;
  /** The last failure, until a check succeeds. */
  error?: string;
}

export class KeyRewrap {
  private timer?: NodeJS.Timeout;
  private running?: Promise<RewrapOutcome>;
  private readonly state: KeyVersions;
  /** The group version whose failure is already in the audit log (audited once, logged each time). */
  private auditedFailure?: number;
  private looked = false;
  /** oldest_in_use of the files alone, and of each store (by index), at their last look. */
  private filesOldest?: number;
  private readonly storesOldest: (number | undefined)[] = [];

  constructor(
    private readonly deps: KeyRewrapDeps,
    private readonly opts: { checkMs: number },
  ) {
    this.state = { hub: readDone(deps.dataDir) };
  }

  start(): this {
    const loop = (): void => {
      void this.check()
        .catch(() => undefined)
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(loop, this.opts.checkMs).unref();
        });
    };
    this.timer = setTimeout(loop, 0).unref();
    return this;
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  versions(): KeyVersions {
    return { ...this.state, ...(this.deps.atRest.keyVersion() !== undefined ? { sealing: this.deps.atRest.keyVersion() } : {}) };
  }

  /** One look: re-wraps when the group's version is ahead of this hub's. Never runs twice at once. */
  check(): Promise<RewrapOutcome> {
    this.running ??= this.look().finally(() => (this.running = undefined));
    return this.running;
  }

  private async look(): Promise<RewrapOutcome> {
    const files = await this.lookFiles();
    if (files === 'idle' || files === 'failed' || !this.deps.stores?.length) return files;
    const stores = await this.rewrapStores(this.state.group!);
    return stores === 'current' ? files : stores;
  }

  private async lookFiles(): Promise<RewrapOutcome> {
    let group: number | undefined;
    try {
      group = await this.deps.groupVersion();
    } catch (err) {
      // etcd out of reach: the next check asks again (the health of etcd is reported elsewhere).
      this.deps.logger.debug({ err: (err as Error).message }, 'key re-wrap: the group key version could not be read');
      return 'idle';
    }
    // The first look reads the files' versions for the metric even when nothing is due.
    if (!this.looked) {
      this.looked = true;
      this.filesOldest = this.deps.atRest.oldestVersion(this.deps.roots);
      await this.lookStores();
    }
    if (group === undefined) return 'idle';
    this.state.group = group;
    if (this.state.hub !== undefined && this.state.hub >= group) return 'current';
    const what = this.deps.atRest.describe();
    let result: Awaited<ReturnType<AtRest['rewrapTo']>>;
    try {
      result = await this.deps.atRest.rewrapTo(this.deps.roots, group);
    } catch (err) {
      return this.failed(group, what, (err as Error).message);
    }
    this.filesOldest = this.deps.atRest.oldestVersion(this.deps.roots);
    this.setOldest();
    if (result.failed.length) {
      const first = result.failed[0]!;
      return this.failed(group, what, `${result.failed.length} file(s) could not be re-wrapped (first: ${first.path}: ${first.error}); they stay readable with their previous key version`, result.rewrapped.length);
    }
    // The leader's schedule re-wrapped its own files already: nothing moved, nothing to audit.
    if (result.rewrapped.length) {
      await this.deps.audit.record({ action: 'keys:rewrap', resource: `key ${what} v${group}: ${result.rewrapped.length} file(s) re-wrapped`, outcome: 'success', transport: 'internal', user: null, required: true });
      this.deps.logger.info({ key: what, version: group, rewrapped: result.rewrapped.length, current: result.current.length }, 'key re-wrap: this hub follows the group key version');
    }
    writeDone(this.deps.dataDir, { version: group, at: isoNow(this.deps.clock), hub_id: this.deps.hubId });
    this.state.hub = group;
    delete this.state.error;
    this.auditedFailure = undefined;
    return result.rewrapped.length ? 'rewrapped' : 'current';
  }

  /** Moves each store's records below the group version; audited when some moved or on the first failure. */
  private async rewrapStores(group: number): Promise<RewrapOutcome> {
    const what = this.deps.atRest.describe();
    let outcome: RewrapOutcome = 'current';
    for (const [i, store] of (this.deps.stores ?? []).entries()) {
      let result: Awaited<ReturnType<WrappedKeyStore['rewrapTo']>>;
      try {
        result = await store.rewrapTo(group);
        this.storesOldest[i] = await store.oldestVersion();
        this.setOldest();
      } catch (err) {
        // Out of reach (Redis down): its health is reported elsewhere; the next check asks again.
        this.deps.logger.debug({ err: (err as Error).message, store: store.what }, 'key re-wrap: the store could not be read');
        return 'idle';
      }
      if (result.rewrapped) {
        await this.deps.audit.record({ action: 'keys:rewrap', resource: `key ${what} v${group}: ${result.rewrapped} ${store.what} re-wrapped`, outcome: 'success', transport: 'internal', user: null, required: true });
        this.deps.logger.info({ key: what, version: group, rewrapped: result.rewrapped, current: result.current, store: store.what }, 'key re-wrap: stored data keys follow the group key version');
        outcome = 'rewrapped';
      }
      if (result.failed.length) {
        const first = result.failed[0]!;
        return this.failed(group, what, `${result.failed.length} of the ${store.what} could not be re-wrapped (first: ${first.id}: ${first.error}); their entries open while the previous key version is kept`, result.rewrapped);
      }
    }
    delete this.state.error;
    this.auditedFailure = undefined;
    return outcome;
  }

  /** The stores' oldest versions at the first look (a store out of reach is asked again at the next check). */
  private async lookStores(): Promise<void> {
    for (const [i, store] of (this.deps.stores ?? []).entries()) this.storesOldest[i] = await store.oldestVersion().catch(() => undefined);
    this.setOldest();
  }

  private setOldest(): void {
    const all = [this.filesOldest, ...this.storesOldest].filter((v): v is number => v !== undefined);
    if (all.length) this.state.oldest_in_use = Math.min(...all);
    else delete this.state.oldest_in_use;
  }

  private async failed(group: number, what: string, reason: string, moved = 0): Promise<RewrapOutcome> {
    this.state.error = reason;
    this.deps.logger.error({ key: what, version: group, err: reason }, 'key re-wrap failed; retried at the next check');
    if (this.auditedFailure !== group) {
      this.auditedFailure = group;
      await this.deps.audit.record({ action: 'keys:rewrap', resource: `key ${what} v${group}: ${moved} file(s) re-wrapped`, outcome: 'error', reason, transport: 'internal', user: null, required: true });
    }
    return 'failed';
  }

  /** sfleet_hub_key_version{of=group|hub|oldest_in_use|sealing}: when every hub's oldest_in_use reached the new version, the old one may be retired. */
  registerMetrics(registry: Registry): void {
    const versions = (): KeyVersions => this.versions();
    new Gauge({
      name: 'sfleet_hub_key_version',
      help: 'Encryption at rest key versions on this hub: group (the version the leader rotated to), hub (this hub has re-wrapped to), oldest_in_use (the lowest version a sealed file here still uses), sealing (new data keys; local keys only)',
      labelNames: ['of'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [of, v] of Object.entries(versions())) if (typeof v === 'number') this.set({ of }, v);
      },
    });
  }
}

function readDone(dataDir: string): number | undefined {
  try {
    const v = (JSON.parse(readFileSync(join(dataDir, FILE), 'utf8')) as { version?: unknown }).version;
    return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

function writeDone(dataDir: string, record: { version: number; at: string; hub_id: string }): void {
  writeAtomically(join(dataDir, FILE), Buffer.from(JSON.stringify(record) + '\n'));
}
