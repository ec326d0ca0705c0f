// A session or API token that ended (a logout, a failed account re-check, a revoked token) must end
// what is still open under it: its watch streams on this hub, and on every other hub of the group.
// The open watches re-check their credential every limits.session_recheck anyway; this tells them
// at once. In a hub group the news goes over the group's Redis (pub/sub, carrying no credential:
// a hub that hears it re-checks all its watches); a lost message leaves the periodic re-check.
import type { SessionStore } from './session-store.js';

/** Where the group hears of ended credentials (hub/replication: a Redis channel). */
export interface EndsRelay {
  /** Tells the other hubs; never throws. */
  publish(): void;
  /** Called when another hub tells. */
  subscribe(listener: () => void): void;
}

export class CredentialEnds {
  private readonly listeners = new Set<() => void>();

  constructor(private readonly relay?: EndsRelay) {
    relay?.subscribe(() => this.heard());
  }

  /** A credential ended on this hub: this hub's listeners now, the group's through the relay. */
  announce(): void {
    this.heard();
    this.relay?.publish();
  }

  /** A credential ended that every hub learns of by itself (a revoked token's tombstone in the security store): this hub's listeners only. */
  heard(): void {
    for (const listener of this.listeners) listener();
  }

  /** `listener` runs at each end, here or on another hub of the group; returns its removal. */
  onEnded(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** The store, whose revocations (logout, a failed re-check) are announced once done. */
export class AnnouncingSessionStore implements SessionStore {
  constructor(
    readonly inner: SessionStore,
    private readonly ends: Pick<CredentialEnds, 'announce'>,
  ) {}
  create(...args: Parameters<SessionStore['create']>): ReturnType<SessionStore['create']> {
    return this.inner.create(...args);
  }
  get(token: string): ReturnType<SessionStore['get']> {
    return this.inner.get(token);
  }
  secret(token: string): ReturnType<SessionStore['secret']> {
    return this.inner.secret(token);
  }
  setSecret(...args: Parameters<SessionStore['setSecret']>): ReturnType<SessionStore['setSecret']> {
    return this.inner.setSecret(...args);
  }
  async revoke(token: string): Promise<void> {
    await this.inner.revoke(token);
    this.ends.announce();
  }
}
