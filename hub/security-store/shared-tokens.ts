// API tokens of a hub group in the shared security store: one record per token id. A revoked
// token leaves a tombstone, so an old tokens.json imported by another hub cannot bring it back,
// and a revocation made while etcd is unreachable is queued on this hub and written once it is
// back (until then this hub alone refuses the token).
import { identifyToken, newToken, type StoredToken, type TokenGrant, type TokenIdentity, type TokenRegistry, type TokenView } from '../policy/index.js';
import type { SecurityStore } from './security-store.js';

type TokenRecord = StoredToken | { id: string; revoked_at: string; revoked_by?: string };

function live(r: TokenRecord | undefined): StoredToken | undefined {
  return r && !('revoked_at' in r) ? r : undefined;
}

/** data_dir/tokens.json as `sfleet token create --data-dir` writes it. */
export interface TokenFile {
  identify(token: string): TokenIdentity | undefined;
  records(): StoredToken[];
}

export class SharedTokenRegistry implements TokenRegistry {
  constructor(
    private readonly store: SecurityStore,
    /** A token written into this hub's tokens.json after the start is taken into the group at its first use. */
    private readonly file?: TokenFile,
  ) {}

  /** Tokens of data_dir/tokens.json that the group has never seen (written before the hub joined a group). */
  async importFile(tokens: StoredToken[]): Promise<number> {
    let imported = 0;
    for (const t of tokens) {
      if (this.store.get('tokens', t.id) !== undefined) continue;
      await this.store.put('tokens', t.id, t, { queue: true });
      imported++;
    }
    return imported;
  }

  identify(token: string): TokenIdentity | undefined {
    let seen = false;
    const found = identifyToken(token, (id) => {
      const r = this.store.get<TokenRecord>('tokens', id);
      seen = r !== undefined;
      return live(r);
    });
    if (found || seen || !this.file) return found;
    // Never seen by the group (not even revoked): a token made by hand in this hub's data directory.
    const local = this.file.identify(token);
    if (local) {
      const id = /^sft_([a-f0-9]{16})_/.exec(token)![1];
      const record = this.file.records().find((t) => t.id === id);
      if (record) void this.store.put('tokens', id, record, { queue: true }).catch(() => undefined);
    }
    return local;
  }

  async create(name: string, ttlMs: number | undefined, own: TokenGrant): Promise<{ token: string; record: StoredToken }> {
    const made = newToken(name, ttlMs, own);
    await this.store.put('tokens', made.record.id, made.record);
    return made;
  }

  list(): TokenView[] {
    const out: TokenView[] = [];
    for (const [, r] of this.store.entries<TokenRecord>('tokens')) {
      const t = live(r);
      if (t) {
        const { hash: _hash, ...view } = t;
        out.push(view);
      }
    }
    return out.sort((a, b) => a.created_at.localeCompare(b.created_at));
  }

  async revoke(nameOrId: string, by?: string): Promise<TokenView[]> {
    const gone = this.list().filter((t) => t.id === nameOrId || t.name === nameOrId);
    const at = new Date().toISOString();
    for (const t of gone) await this.store.put('tokens', t.id, { id: t.id, revoked_at: at, ...(by ? { revoked_by: by } : {}) }, { queue: true });
    return gone;
  }
}
