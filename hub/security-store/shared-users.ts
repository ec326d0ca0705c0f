// Local users of a hub group in the shared security store (kind "users", one record per name):
// password hashes, TOTP secrets, WebAuthn credentials and MFA exemptions, so a user added with
// `sfleet user add --data-dir` on hub A logs in on hub B with the same factors.
//
// users.json stays the operator's door: each hub writes the group's users into it (so
// `sfleet user passwd|list --data-dir` on any hub sees them) and takes back what an operator
// changed there. Only the fields that differ from what the hub last wrote are published, onto
// the group's current record by compare-and-set, so a stale file cannot undo a change made on
// another hub. WebAuthn credentials merge by id and their counters only go up.
//
// While the store cannot be reached this hub answers from its copy; a change in users.json
// (and a WebAuthn counter accepted meanwhile) stays in the file and reaches the group once the
// store answers. A user removed from users.json leaves a tombstone, so another hub's older file
// cannot bring it back.
import { ConflictError } from '../../shared/errors/index.js';
import type { Logger } from '../../shared/logging/index.js';
import { counterAdvances, type LocalUser, type LocalUserStore, type UserDirectory, type WebauthnCredential } from '../login/local/user-store.js';
import { SecurityStoreUnavailableError } from './errors.js';
import type { SecurityStore } from './security-store.js';

type Tombstone = { name: string; removed_at: string };
type UserRecord = LocalUser | Tombstone;

function live(r: UserRecord | undefined): LocalUser | undefined {
  return r && !('removed_at' in r) ? r : undefined;
}

/** Fields an operator edits in users.json and that the group takes as they are (WebAuthn merges). */
const NOT_COPIED = new Set(['name', 'webauthn', 'created_at', 'updated_at']);

/** Credentials of both sides by id; the higher counter and the later use win (a counter never goes back). */
export function mergeCredentials(group: WebauthnCredential[] = [], file: WebauthnCredential[] = []): WebauthnCredential[] {
  const out = group.map((c) => ({ ...c }));
  for (const f of file) {
    const g = out.find((c) => c.id === f.id);
    if (!g) out.push({ ...f });
    else if (f.counter > g.counter) Object.assign(g, { counter: f.counter, ...(f.last_used_at ? { last_used_at: f.last_used_at } : {}) });
  }
  return out;
}

const later = (a: string, b: string) => (a > b ? a : b);

export class SharedUserDirectory implements UserDirectory {
  /** Each user as this hub last wrote it to (or took it from) users.json: what an operator's edit is compared with. */
  private mirrored = new Map<string, string>();
  /** users.json's mtime when this hub last wrote or took it. */
  private seenMtime = -2;
  /** Removed from users.json, tombstone not written yet. */
  private readonly removedHere = new Set<string>();
  private syncing?: Promise<void>;
  private mirrorTimer?: NodeJS.Timeout;
  private failing = false;

  constructor(
    private readonly store: SecurityStore,
    private readonly file: LocalUserStore,
    private readonly logger: Logger,
  ) {
    store.onChange('users', () => this.scheduleMirror());
  }

  /** Takes users.json into the group (users the group has never seen, and changes), then writes the group's users back. */
  sync(): Promise<void> {
    this.syncing ??= this.syncOnce().finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  get(name: string): LocalUser | undefined {
    if (this.file.mtime() !== this.seenMtime) void this.sync();
    if (this.removedHere.has(name)) return undefined;
    const record = this.store.get<UserRecord>('users', name);
    const shared = live(record);
    let local: LocalUser | undefined;
    try {
      local = this.file.get(name);
    } catch {
      local = undefined; // an unreadable users.json: the group's copy answers
    }
    // A change in users.json not yet in the group (just made, or the store is away) counts on this hub at once.
    if (local && (!record || (shared ? local.updated_at > shared.updated_at : local.updated_at > (record as Tombstone).removed_at))) return local;
    return shared;
  }

  verify(name: string, password: string): Promise<LocalUser | undefined> {
    return this.file.verifyRecord(this.get(name), password);
  }

  async addWebauthnCredential(name: string, credential: WebauthnCredential): Promise<void> {
    await this.store.update<UserRecord>('users', name, (current) => {
      const now = new Date().toISOString();
      const user: LocalUser = live(current) ?? { name, groups: [], created_at: now, updated_at: now };
      if ((user.webauthn ?? []).some((c) => c.id === credential.id)) throw new ConflictError('this authenticator is registered already');
      return { ...user, webauthn: [...(user.webauthn ?? []), credential], updated_at: now };
    });
  }

  /**
   * Compare-and-set on the user's record: of two hubs accepting the same counter at once, the
   * second reads the first one's counter and refuses. While the store is away this hub's copy
   * decides and the counter waits in users.json (merged upwards once the store answers).
   */
  async useWebauthnCredential(name: string, id: string, counter: number): Promise<boolean> {
    const now = new Date().toISOString();
    const use = (user: LocalUser | undefined): LocalUser | undefined => {
      const cred = user?.webauthn?.find((c) => c.id === id);
      if (!user || !cred || !counterAdvances(cred.counter, counter)) return undefined;
      return { ...user, webauthn: user.webauthn!.map((c) => (c.id === id ? { ...c, counter, last_used_at: now } : c)), updated_at: now };
    };
    try {
      return (await this.store.update<UserRecord>('users', name, (current) => use(live(current)))) !== undefined;
    } catch (err) {
      if (!(err instanceof SecurityStoreUnavailableError)) throw err;
      const next = use(this.get(name));
      if (!next) return false;
      this.file.replaceAll([...this.file.records().filter((u) => u.name !== name), next]);
      this.logger.warn({ user: name }, 'security store unreachable: a WebAuthn counter was checked against this hub\'s copy only; it reaches the group once the store answers');
      return true;
    }
  }

  async setMfaExempt(name: string, exempt: { by: string; reason: string } | undefined): Promise<boolean> {
    if (!live(this.store.get<UserRecord>('users', name)) && !this.get(name)) return false;
    const done = await this.store.update<UserRecord>('users', name, (current) => {
      const user = live(current);
      if (!user) return undefined;
      const { mfa_exempt: _old, ...rest } = user;
      const now = new Date().toISOString();
      return { ...rest, ...(exempt ? { mfa_exempt: { ...exempt, at: now } } : {}), updated_at: now };
    });
    return done !== undefined;
  }

  maintain(): void {
    this.file.maintain();
    void this.sync();
  }

  close(): void {
    clearTimeout(this.mirrorTimer);
  }

  private async syncOnce(): Promise<void> {
    const mtime = this.file.mtime();
    if (mtime !== this.seenMtime) {
      let records: LocalUser[];
      try {
        records = this.file.records();
      } catch (err) {
        this.warnOnce(err, 'users.json cannot be read; the group\'s copy answers');
        return;
      }
      try {
        await this.takeFile(records);
      } catch (err) {
        // Tried again at the next maintain(): the change stays in users.json meanwhile.
        this.warnOnce(err, 'a change in users.json waits for the shared security store');
        return;
      }
      this.seenMtime = mtime;
      if (this.failing) this.logger.info('security store: users.json is in the group\'s copy again');
      this.failing = false;
    }
    this.mirror();
  }

  private async takeFile(records: LocalUser[]): Promise<void> {
    const names = new Set(records.map((r) => r.name));
    for (const r of records) {
      const snapshot = this.mirrored.get(r.name);
      if (snapshot === JSON.stringify(r)) continue;
      const record = this.store.get<UserRecord>('users', r.name);
      // Never written by this hub (a first start): the group's newer record wins over an old file.
      if (snapshot === undefined && record) {
        const stamp = live(record)?.updated_at ?? (record as Tombstone).removed_at;
        if (r.updated_at <= stamp) continue;
      }
      const base = snapshot ? (JSON.parse(snapshot) as LocalUser) : undefined;
      await this.store.update<UserRecord>('users', r.name, (current) => applyFileEdit(live(current), r, base));
      this.logger.info({ user: r.name }, 'security store: a local user changed in users.json is published to the hub group');
    }
    for (const name of this.mirrored.keys()) {
      if (names.has(name)) continue;
      this.removedHere.add(name);
      await this.store.update<UserRecord>('users', name, (current) => (live(current) ? { name, removed_at: new Date().toISOString() } : undefined));
      this.removedHere.delete(name);
      this.mirrored.delete(name);
      this.logger.info({ user: name }, 'security store: a local user removed from users.json is removed in the hub group');
    }
  }

  private scheduleMirror(): void {
    clearTimeout(this.mirrorTimer);
    this.mirrorTimer = setTimeout(() => void this.sync(), 50);
    this.mirrorTimer.unref();
  }

  /** Writes the group's users into users.json, unless the operator changed the file since (taken first). */
  private mirror(): void {
    if (this.file.mtime() !== this.seenMtime) return;
    const users = this.store
      .entries<UserRecord>('users')
      .map(([, r]) => live(r))
      .filter((u): u is LocalUser => u !== undefined)
      .sort((x, y) => x.name.localeCompare(y.name));
    const next = new Map(users.map((u) => [u.name, JSON.stringify(u)]));
    if (next.size === this.mirrored.size && [...next].every(([k, v]) => this.mirrored.get(k) === v)) return;
    try {
      this.file.replaceAll(users);
    } catch (err) {
      this.warnOnce(err, 'users.json cannot be written; logins use the group\'s copy');
      return;
    }
    this.mirrored = next;
    this.seenMtime = this.file.mtime();
  }

  private warnOnce(err: unknown, what: string): void {
    if (this.failing) return;
    this.failing = true;
    this.logger.warn({ err: (err as Error).message.split('\n')[0] }, `security store: ${what}`);
  }
}

/** The group's record with an operator's edit of users.json applied: the fields that differ from what the hub wrote, credentials merged upwards. */
export function applyFileEdit(current: LocalUser | undefined, edited: LocalUser, base: LocalUser | undefined): LocalUser {
  if (!current) return edited;
  const next: Record<string, unknown> = { ...current };
  const was = (base ?? {}) as Record<string, unknown>;
  const now = edited as unknown as Record<string, unknown>;
  for (const key of new Set([...Object.keys(now), ...Object.keys(was)])) {
    if (NOT_COPIED.has(key) || JSON.stringify(now[key]) === JSON.stringify(was[key])) continue;
    if (now[key] === undefined) delete next[key];
    else next[key] = now[key];
  }
  next.webauthn = mergeCredentials(current.webauthn, edited.webauthn);
  if ((next.webauthn as unknown[]).length === 0) delete next.webauthn;
  next.updated_at = later(current.updated_at, edited.updated_at);
  return next as unknown as LocalUser;
}
