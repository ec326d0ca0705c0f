// The security store of a hub group in etcd: one key per record under
// <etcd.prefix>security/<region>/<kind>/<key>, each value sealed like the data directory's files.
// etcd and not Redis: its transactions compare a key's mod revision (compare-and-set without
// scripts), its watch resumes from a revision so no change is missed, and Raft makes a write
// durable on a quorum before it is acknowledged (Redis may lose or evict it).
//
// This hub keeps a full copy in memory, persisted (sealed) in data_dir/security-store.json with
// the writes it could not make yet. While etcd cannot be reached the copy answers as it was and
// queued writes (revocations) wait in that file; once etcd answers they are written and the
// copy is read again in full.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Etcd3, IKeyValue } from 'etcd3';
import type { Logger } from '../../shared/logging/index.js';
import { AtRest } from '../../shared/crypto/index.js';
import { isEtcdNoSpace, NO_SPACE_MESSAGE } from '../leader/etcd-space.js';
import { SecurityStoreUnavailableError } from './errors.js';
import type { SecurityKind, SecurityStore } from './security-store.js';
import { ValueSealer } from './sealed-value.js';

interface Entry {
  value: unknown;
  /** etcd mod revision of the value this copy holds (0: written locally, not yet in etcd). */
  rev: number;
}

interface QueuedWrite {
  kind: SecurityKind;
  key: string;
  value: unknown;
}

interface LocalCopy {
  entries: Record<string, Entry>;
  outbox: QueuedWrite[];
}

export interface EtcdSecurityStoreOptions {
  client: Etcd3;
  /** etcd.prefix of the hub group ("/sfleet/"). */
  prefix: string;
  region: string;
  dataDir: string;
  atRest?: AtRest;
  logger: Logger;
  /** How often a hub out of touch tries again (and a connected one re-reads in full). */
  retryMs?: number;
}

/** The at-rest purpose of the store's sealed values (and its local copy). */
export const SECURITY_STORE_PURPOSE = 'hub/security-store';
const PURPOSE = SECURITY_STORE_PURPOSE;

export class EtcdSecurityStore implements SecurityStore {
  private readonly root: string;
  private readonly path: string;
  private readonly atRest: AtRest;
  private readonly sealer: ValueSealer;
  private entriesByKey = new Map<string, Entry>();
  private outbox: QueuedWrite[] = [];
  private readonly listeners = new Map<SecurityKind, ((key: string) => void)[]>();
  private watcher?: { cancel(): Promise<void> };
  private timer?: NodeJS.Timeout;
  private syncing?: Promise<void>;
  private closed = false;
  connected = false;

  constructor(private readonly opts: EtcdSecurityStoreOptions) {
    this.root = `${opts.prefix}security/${opts.region}/`;
    this.path = join(opts.dataDir, 'security-store.json');
    this.atRest = opts.atRest ?? AtRest.plaintext();
    this.sealer = new ValueSealer(this.atRest);
    const stored = this.atRest.readFile(this.path, PURPOSE);
    if (stored) {
      const copy = JSON.parse(stored.toString('utf8')) as LocalCopy;
      this.entriesByKey = new Map(Object.entries(copy.entries ?? {}));
      this.outbox = copy.outbox ?? [];
    }
  }

  get pending(): number {
    return this.outbox.length;
  }

  /** True when this hub has a copy from an earlier run (it has been in the group before). */
  static hasCopy(dataDir: string): boolean {
    return existsSync(join(dataDir, 'security-store.json'));
  }

  /** Entries in this hub's copy. */
  get size(): number {
    return this.entriesByKey.size;
  }

  /** Reads etcd once (within `timeoutMs`) and starts following it; an etcd that does not answer leaves the last copy in force. */
  async start(timeoutMs: number): Promise<void> {
    const first = this.sync();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([first, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]).finally(() => clearTimeout(timer));
    if (!this.connected) this.opts.logger.warn({ entries: this.entriesByKey.size, pending: this.outbox.length }, 'security store: etcd does not answer; this hub answers from its last copy until it does');
    // Not create(): it waits for etcd, and a hub restarting while etcd is down starts from its copy.
    const watcher = this.opts.client.watch().prefix(this.root).watcher();
    watcher.on('put', (kv) => this.applyEvent(kv, false));
    watcher.on('delete', (kv) => this.applyEvent(kv, true));
    watcher.on('connected', () => void this.sync());
    watcher.on('disconnected', () => (this.connected = false));
    watcher.on('error', () => (this.connected = false));
    this.watcher = watcher;
    this.timer = setInterval(() => void this.sync(), this.opts.retryMs ?? 2_000);
    this.timer.unref();
  }

  get<T>(kind: SecurityKind, key: string): T | undefined {
    return this.entriesByKey.get(this.keyOf(kind, key))?.value as T | undefined;
  }

  entries<T>(kind: SecurityKind): [string, T][] {
    const start = `${kind}/`;
    const out: [string, T][] = [];
    for (const [k, e] of this.entriesByKey) if (k.startsWith(start)) out.push([k.slice(start.length), e.value as T]);
    return out;
  }

  onChange(kind: SecurityKind, listener: (key: string) => void): void {
    this.listeners.set(kind, [...(this.listeners.get(kind) ?? []), listener]);
  }

  async put(kind: SecurityKind, key: string, value: unknown, opts: { queue?: boolean } = {}): Promise<void> {
    try {
      await this.write(kind, key, value);
    } catch (err) {
      if (!opts.queue) throw unavailable(err);
      // Kept on disk before the caller hears "done": a restart does not lose it.
      this.outbox.push({ kind, key, value });
      this.setLocal(`${kind}/${key}`, { value, rev: 0 });
      const why = isEtcdNoSpace(err) ? 'etcd is out of space (NOSPACE alarm)' : 'etcd unreachable';
      this.opts.logger.warn({ kind, pending: this.outbox.length }, `security store: ${why}; the change is kept on this hub and written once etcd takes writes again`);
    }
  }

  async update<T>(kind: SecurityKind, key: string, change: (current: T | undefined) => T | undefined): Promise<T | undefined> {
    const full = this.root + this.keyOf(kind, key);
    for (let attempt = 0; attempt < 8; attempt++) {
      let current: T | undefined;
      let rev = '0';
      try {
        const res = await this.opts.client.get(full).exec();
        const kv = res.kvs[0];
        if (kv) {
          current = this.sealer.open<T>(this.keyOf(kind, key), PURPOSE, kv.value);
          rev = kv.mod_revision;
        }
      } catch (err) {
        throw unavailable(err);
      }
      const next = change(current);
      if (next === undefined) return undefined;
      let txn;
      try {
        txn = await this.opts.client
          .if(full, 'Mod', '==', rev)
          .then(this.opts.client.put(full).value(this.sealer.seal(this.keyOf(kind, key), PURPOSE, next)))
          .commit();
      } catch (err) {
        throw unavailable(err);
      }
      if (txn.succeeded) {
        this.setLocal(this.keyOf(kind, key), { value: next, rev: Number(txn.header.revision) });
        return next;
      }
      // Another hub wrote it between our read and write: read again and let `change` decide.
    }
    throw new SecurityStoreUnavailableError('the shared security store kept changing under this write; try again');
  }

  async take<T>(kind: SecurityKind, key: string): Promise<T | undefined> {
    const name = this.keyOf(kind, key);
    const client = this.opts.client;
    for (let attempt = 0; attempt < 8; attempt++) {
      let kv: IKeyValue | undefined;
      try {
        kv = (await client.get(this.root + name).exec()).kvs[0];
      } catch (err) {
        throw unavailable(err);
      }
      if (!kv) return undefined;
      const value = this.sealer.open<T>(name, PURPOSE, kv.value);
      let res;
      try {
        res = await client.if(this.root + name, 'Mod', '==', kv.mod_revision).then(client.delete().key(this.root + name)).commit();
      } catch (err) {
        throw unavailable(err);
      }
      if (res.succeeded) {
        if (this.entriesByKey.has(name)) this.removeLocal(name);
        return value;
      }
    }
    throw new SecurityStoreUnavailableError('the shared security store kept changing under this write; try again');
  }

  async updateAll<T, R>(kind: SecurityKind, keys: string[], change: (current: (T | undefined)[]) => { next?: (T | undefined)[]; result: R }): Promise<R> {
    const names = keys.map((k) => this.keyOf(kind, k));
    const client = this.opts.client;
    // Many hubs (and attempts) on one hot key: each round one writer wins, the others read again.
    // The first round reads this hub's copy (the watch keeps it current): a refusal then costs no
    // round trip, and a write one; a copy behind etcd fails the revision compare and etcd is read.
    for (let attempt = 0; attempt < 40; attempt++) {
      let read: { value: T | undefined; rev: string }[];
      try {
        read =
          attempt === 0
            ? names.map((name) => {
                const e = this.entriesByKey.get(name);
                return { value: e?.value as T | undefined, rev: String(e?.rev ?? 0) };
              })
            : await Promise.all(
          names.map(async (name) => {
            const kv = (await client.get(this.root + name).exec()).kvs[0];
            return kv ? { value: this.sealer.open<T>(name, PURPOSE, kv.value), rev: kv.mod_revision } : { value: undefined, rev: '0' };
          }),
        );
      } catch (err) {
        throw unavailable(err);
      }
      const { next, result } = change(read.map((r) => r.value));
      if (!next) return result;
      let txn = client.if(this.root + names[0], 'Mod', '==', read[0].rev);
      for (let i = 1; i < names.length; i++) txn = txn.and(this.root + names[i], 'Mod', '==', read[i].rev);
      const ops = names.map((name, i) => (next[i] === undefined ? client.delete().key(this.root + name) : client.put(this.root + name).value(this.sealer.seal(name, PURPOSE, next[i]))));
      let res;
      try {
        res = await txn.then(...ops).commit();
      } catch (err) {
        throw unavailable(err);
      }
      if (res.succeeded) {
        const rev = Number(res.header.revision);
        names.forEach((name, i) => (next[i] === undefined ? this.entriesByKey.delete(name) : this.entriesByKey.set(name, { value: next[i], rev })));
        this.persist();
        for (const name of names) this.notify(name);
        return result;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 + attempt * 3)));
    }
    throw new SecurityStoreUnavailableError('the shared security store kept changing under this write; try again');
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.watcher?.cancel().catch(() => undefined);
  }

  private keyOf(kind: SecurityKind, key: string): string {
    return `${kind}/${key}`;
  }

  private async write(kind: SecurityKind, key: string, value: unknown): Promise<void> {
    const name = this.keyOf(kind, key);
    const res = await this.opts.client.put(this.root + name).value(this.sealer.seal(name, PURPOSE, value)).exec();
    this.setLocal(name, { value, rev: Number(res.header.revision) });
  }

  /** Writes the queued changes, then reads the whole copy again (one at a time). */
  private sync(): Promise<void> {
    this.syncing ??= this.syncOnce().finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  private async syncOnce(): Promise<void> {
    if (this.closed) return;
    try {
      try {
        while (this.outbox.length > 0) {
          const w = this.outbox[0];
          await this.write(w.kind, w.key, w.value);
          this.outbox.shift();
          this.persist();
          this.opts.logger.info({ kind: w.kind, pending: this.outbox.length }, 'security store: a change kept during the outage is written to etcd');
        }
      } catch (err) {
        // etcd out of space still answers reads: the queue waits for the alarm to clear, the copy stays followed.
        if (!isEtcdNoSpace(err)) throw err;
      }
      const res = await this.opts.client.getAll().prefix(this.root).exec();
      const atRev = Number(res.header.revision);
      const seen = new Set<string>();
      for (const kv of res.kvs) {
        const name = kv.key.toString('utf8').slice(this.root.length);
        seen.add(name);
        this.applyKv(name, kv, false);
      }
      for (const [name, e] of [...this.entriesByKey]) if (!seen.has(name) && e.rev <= atRev && e.rev !== 0) this.removeLocal(name);
      this.connected = true;
    } catch (err) {
      if (this.connected) this.opts.logger.warn({ err: (err as Error).message.split('\n')[0] }, 'security store: etcd unreachable; answering from the last copy');
      this.connected = false;
    }
  }

  private applyEvent(kv: IKeyValue, deleted: boolean): void {
    const name = kv.key.toString('utf8').slice(this.root.length);
    this.applyKv(name, kv, deleted);
  }

  private applyKv(name: string, kv: IKeyValue, deleted: boolean): void {
    const rev = Number(kv.mod_revision);
    const have = this.entriesByKey.get(name);
    if (have && have.rev >= rev && have.rev !== 0) return;
    if (deleted) {
      if (have) this.removeLocal(name);
      return;
    }
    let value: unknown;
    try {
      value = this.sealer.open(name, PURPOSE, kv.value);
    } catch (err) {
      this.opts.logger.error({ key: name, err: (err as Error).message }, 'security store: a record cannot be opened; the previous value stays');
      return;
    }
    this.setLocal(name, { value, rev });
  }

  private setLocal(name: string, entry: Entry): void {
    this.entriesByKey.set(name, entry);
    this.persist();
    this.notify(name);
  }

  private removeLocal(name: string): void {
    this.entriesByKey.delete(name);
    this.persist();
    this.notify(name);
  }

  private notify(name: string): void {
    const slash = name.indexOf('/');
    for (const listener of this.listeners.get(name.slice(0, slash) as SecurityKind) ?? []) {
      try {
        listener(name.slice(slash + 1));
      } catch (err) {
        this.opts.logger.error({ err: (err as Error).message }, 'security store: a change listener failed');
      }
    }
  }

  private persist(): void {
    const copy: LocalCopy = { entries: Object.fromEntries(this.entriesByKey), outbox: this.outbox };
    this.atRest.writeFile(this.path, PURPOSE, Buffer.from(JSON.stringify(copy)));
  }
}

function unavailable(err: unknown): Error {
  if (err instanceof SecurityStoreUnavailableError) return err;
  if (isEtcdNoSpace(err)) return new SecurityStoreUnavailableError(`the shared security store cannot take this change: ${NO_SPACE_MESSAGE}`);
  return new SecurityStoreUnavailableError(`the shared security store (etcd) cannot be reached: ${(err as Error).message.split('\n')[0].slice(0, 160)}`);
}
