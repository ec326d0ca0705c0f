// Local (break-glass) users in data_dir/users.json, mode 0600: scrypt password hashes and TOTP
// secrets. A record may hold only a TOTP enrolment, for a directory (LDAP) user whose logins
// need a second factor. Written by `sfleet user ...`, re-read by the hub when the file changes.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BadRequestError, ConflictError, NotFoundError } from '../../../shared/errors/index.js';
import { AtRest } from '../../../shared/crypto/index.js';
import { durableWrite, type WriteFaults } from '../../../shared/durability/index.js';
import { DEFAULT_SCRYPT, hashPassword, verifyPassword } from './password-hash.js';

export interface LocalUser {
  name: string;
  /** scrypt$N$r$p$salt$hash; absent for a TOTP-only record of a directory user. */
  password_hash?: string;
  /** Base32 TOTP secret (the authenticator app holds the same). */
  totp_secret?: string;
  /** Registered WebAuthn authenticators: public keys and counters only (nothing secret). */
  webauthn?: WebauthnCredential[];
  /** An admin let this user log in without the enrolled second factor (who, when, why). */
  mfa_exempt?: { by: string; at: string; reason: string };
  groups: string[];
  created_at: string;
  updated_at: string;
}

/** One registered authenticator: what a WebAuthn relying party keeps. */
export interface WebauthnCredential {
  /** The credential ID, base64url. */
  id: string;
  /** The COSE public key, base64url. */
  public_key: string;
  /** The signature counter last seen; a response with a counter not above it is a cloned key. */
  counter: number;
  transports: string[];
  name: string;
  created_at: string;
  last_used_at?: string;
}

export type LocalUserView = Omit<LocalUser, 'password_hash' | 'totp_secret' | 'webauthn'> & { password: boolean; totp: boolean; webauthn: number };

/** scrypt of a password nobody has, at DEFAULT_SCRYPT: what an unknown user's password is checked against. */
const DEFAULT_DUMMY_HASH = 'scrypt$131072$8$1$xTtPhWDncBmgoqOaVnlP4A$PZZ2HN-FEi8Qn7BkAKwUkFjWL2iLXMGGMs7iyl4rvmw';

function sameParams(a: { N: number; r: number; p: number }, b: { N: number; r: number; p: number }): boolean {
  return a.N === b.N && a.r === b.r && a.p === b.p;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

/**
 * What logins read and change of local users: this hub's users.json standalone (LocalUserStore),
 * the hub group's shared security store when clustered (hub/security-store SharedUserDirectory).
 */
export interface UserDirectory {
  get(name: string): LocalUser | undefined;
  verify(name: string, password: string): Promise<LocalUser | undefined>;
  addWebauthnCredential(name: string, credential: WebauthnCredential): Promise<void>;
  useWebauthnCredential(name: string, id: string, counter: number): Promise<boolean>;
  setMfaExempt(name: string, exempt: { by: string; reason: string } | undefined): Promise<boolean>;
  /** Once per flush interval (files written again after a failure; the group's copy taken from the file). */
  maintain(): void;
}

/** A new WebAuthn counter is good when it is above the stored one (both 0: an authenticator without counters). */
export function counterAdvances(stored: number, counter: number): boolean {
  return !((counter > 0 || stored > 0) && counter <= stored);
}

export class LocalUserStore implements UserDirectory {
  readonly path: string;
  private users: LocalUser[] = [];
  private loadedMtime = -1;
  private dummyHash?: Promise<string>;

  constructor(
    dataDir: string,
    private readonly scryptParams: { N: number; r: number; p: number } = DEFAULT_SCRYPT,
    /** TOTP secrets and password hashes: sealed when the hub encrypts its data at rest. */
    private readonly atRest: AtRest = AtRest.plaintext(),
    /** Failed writes of users.json: counted, /healthz degraded until one works. */
    private readonly faults?: WriteFaults,
  ) {
    this.path = join(dataDir, 'users.json');
  }

  private refresh(): void {
    if (!existsSync(this.path)) {
      this.users = [];
      this.loadedMtime = -1;
      return;
    }
    const mtime = statSync(this.path).mtimeMs;
    if (mtime === this.loadedMtime) return;
    this.users = (JSON.parse(this.atRest.readFile(this.path, 'hub/users')?.toString('utf8') ?? '{}') as { users?: LocalUser[] }).users ?? [];
    this.loadedMtime = mtime;
  }

  private save(): void {
    // Failed or not, the next read takes the file again: a change that was not written is not made.
    this.loadedMtime = -1;
    durableWrite(this.faults, USERS_STORE, () => this.atRest.writeFile(this.path, 'hub/users', Buffer.from(JSON.stringify({ users: this.users }, null, 2))));
  }

  /** Once per flush interval: after a failed write, the file is written again to learn whether the disk works. */
  maintain(): void {
    if (!this.faults?.degraded().some((f) => f.store === USERS_STORE)) return;
    try {
      this.refresh();
      this.save();
    } catch {
      // still failing: counted by save()
    }
  }

  get(name: string): LocalUser | undefined {
    this.refresh();
    return this.users.find((u) => u.name === name);
  }

  list(): LocalUserView[] {
    this.refresh();
    return this.users.map(({ password_hash, totp_secret, webauthn, ...rest }) => ({ ...rest, password: !!password_hash, totp: !!totp_secret, webauthn: webauthn?.length ?? 0 }));
  }

  async add(name: string, opts: { password?: string; totpSecret?: string; groups?: string[] }): Promise<LocalUser> {
    if (!NAME_RE.test(name)) throw new BadRequestError(`invalid user name "${name.slice(0, 64)}": letters, digits and . _ @ -`);
    this.refresh();
    if (this.users.some((u) => u.name === name)) throw new ConflictError(`user "${name}" exists: use sfleet user passwd`);
    const now = new Date().toISOString();
    const user: LocalUser = {
      name,
      ...(opts.password !== undefined ? { password_hash: await this.hash(opts.password) } : {}),
      ...(opts.totpSecret ? { totp_secret: opts.totpSecret } : {}),
      groups: opts.groups ?? [],
      created_at: now,
      updated_at: now,
    };
    this.users.push(user);
    this.save();
    return user;
  }

  async update(name: string, change: { password?: string; totpSecret?: string | null }): Promise<LocalUser> {
    this.refresh();
    const user = this.users.find((u) => u.name === name);
    if (!user) throw new NotFoundError(`no local user "${name}"`);
    if (change.password !== undefined) user.password_hash = await this.hash(change.password);
    if (change.totpSecret === null) delete user.totp_secret;
    else if (change.totpSecret) user.totp_secret = change.totpSecret;
    user.updated_at = new Date().toISOString();
    this.save();
    return user;
  }

  /** Adds a registered authenticator to the user's record (created TOTP-style, without password, for a directory user). */
  async addWebauthnCredential(name: string, credential: WebauthnCredential): Promise<void> {
    if (!NAME_RE.test(name)) throw new BadRequestError(`invalid user name "${name.slice(0, 64)}": letters, digits and . _ @ -`);
    this.refresh();
    let user = this.users.find((u) => u.name === name);
    if (!user) {
      const now = new Date().toISOString();
      user = { name, groups: [], created_at: now, updated_at: now };
      this.users.push(user);
    }
    if ((user.webauthn ?? []).some((c) => c.id === credential.id)) throw new ConflictError('this authenticator is registered already');
    user.webauthn = [...(user.webauthn ?? []), credential];
    user.updated_at = new Date().toISOString();
    this.save();
  }

  /**
   * Records a successful authentication's counter. Refuses (false) when the stored counter moved
   * past it meanwhile, e.g. another hub accepted a newer signature from the same key.
   */
  async useWebauthnCredential(name: string, id: string, counter: number): Promise<boolean> {
    this.refresh();
    const cred = this.users.find((u) => u.name === name)?.webauthn?.find((c) => c.id === id);
    if (!cred) return false;
    if (!counterAdvances(cred.counter, counter)) return false;
    cred.counter = counter;
    cred.last_used_at = new Date().toISOString();
    this.save();
    return true;
  }

  /** Sets or clears an admin's MFA exemption; false when there is no such user. */
  async setMfaExempt(name: string, exempt: { by: string; reason: string } | undefined): Promise<boolean> {
    this.refresh();
    const user = this.users.find((u) => u.name === name);
    if (!user) return false;
    if (exempt) user.mfa_exempt = { ...exempt, at: new Date().toISOString() };
    else delete user.mfa_exempt;
    user.updated_at = new Date().toISOString();
    this.save();
    return true;
  }

  remove(name: string): boolean {
    this.refresh();
    const before = this.users.length;
    this.users = this.users.filter((u) => u.name !== name);
    if (this.users.length === before) return false;
    this.save();
    return true;
  }

  /** Every record as stored (hashes and secrets included): what a hub group takes into its shared store. */
  records(): LocalUser[] {
    this.refresh();
    return this.users.map((u) => structuredClone(u));
  }

  /** Writes these records as the whole file (a hub group's copy of its users, so `sfleet user` on any hub sees them). */
  replaceAll(users: LocalUser[]): void {
    this.users = users.map((u) => structuredClone(u));
    this.save();
  }

  /** The file's modification time (-1: no file): the group's copy takes the file again when it changed. */
  mtime(): number {
    return existsSync(this.path) ? statSync(this.path).mtimeMs : -1;
  }

  /** The user when the password is right. An unknown user costs a hash too (no timing oracle). */
  async verify(name: string, password: string): Promise<LocalUser | undefined> {
    return this.verifyRecord(this.get(name), password);
  }

  /** `verify` on a record found elsewhere (the group's copy). */
  async verifyRecord(user: LocalUser | undefined, password: string): Promise<LocalUser | undefined> {
    if (!user?.password_hash) {
      // At the default cost a fixed hash: an unknown user costs one hash, as a known one does (not two on the first).
      this.dummyHash ??= sameParams(this.scryptParams, DEFAULT_SCRYPT) ? Promise.resolve(DEFAULT_DUMMY_HASH) : hashPassword('not a password', this.scryptParams);
      await verifyPassword(password, await this.dummyHash);
      return undefined;
    }
    return (await verifyPassword(password, user.password_hash)) ? user : undefined;
  }

  private hash(password: string): Promise<string> {
    if (password.length < 12) throw new BadRequestError('a local password needs at least 12 characters');
    if (password.length > 1024) throw new BadRequestError('a local password has at most 1024 characters');
    return hashPassword(password, this.scryptParams);
  }
}

/** users.json's name in WriteFaults and the metrics. */
export const USERS_STORE = 'users';
