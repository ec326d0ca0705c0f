// Pending WebAuthn ceremonies (a challenge and whom it is for), kept server-side for a short
// time and good once: the id is claimed in the region's once store before it is read, so two
// hubs of a group cannot both accept the same signed challenge.
import { randomBytes } from 'node:crypto';
import type { OnceStore } from '../local/totp.js';
import type { SharedKvStore } from '../../replication/index.js';

export class ChallengeStore {
  constructor(
    private readonly kv: SharedKvStore,
    private readonly once: OnceStore,
    private readonly ttlMs: number,
  ) {}

  /** Stores `value` and returns the id the browser sends back with its answer. */
  async put(kind: string, value: unknown): Promise<string> {
    const id = randomBytes(18).toString('base64url');
    await this.kv.set(`webauthn:${kind}:${id}`, value, this.ttlMs);
    return id;
  }

  /** The value, once: undefined when unknown, expired or taken already. */
  async take<T>(kind: string, id: string): Promise<T | undefined> {
    if (!/^[A-Za-z0-9_-]{24}$/.test(id)) return undefined;
    const key = `webauthn:${kind}:${id}`;
    if (!(await this.once.claim(key, this.ttlMs))) return undefined;
    const value = await this.kv.get<T>(key);
    await this.kv.delete(key);
    return value;
  }
}
