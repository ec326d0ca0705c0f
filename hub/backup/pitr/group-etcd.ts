// In a hub group the etcd security store is recorded by whichever hub leads (etcd-changes.ts),
// and each leader ships its own chain. A restore follows the chain of the hub that took the
// backup; if the lead moved after the backup, the changes made under the next leader (a token
// revoked, a user removed) are only in that leader's chain. So after the plan is replayed, the
// recorded etcd states of every other hub's chain between the backup and T are read too, and the
// newest by etcd revision (global and monotonic in the group) wins, security part only.
import type { KeyProvider } from '../../../shared/crypto/index.js';
import type { Destination } from '../destinations.js';
import { BackupCorruptError } from '../errors.js';
import { ETCD_STATE_OBJECT, parseEtcdState } from '../etcd-state.js';
import type { OpenedObject } from '../restore.js';
import { ETCD_CHANGES_PURPOSE } from './etcd-changes.js';
import { withSingletonOf } from './replay.js';
import { CHANGES_PREFIX, getChanges, SHIPPED_KEY_RE, parseStamp } from './shipped.js';

/**
 * Replaces the security part of the restored etcd state object with a newer one recorded by
 * another hub of the group at or before `at` (and after `since`, the backup). Answers that hub's
 * id when it did, undefined when the restored state was already the newest.
 */
export async function takeNewestGroupEtcdState(dest: Destination, provider: KeyProvider, objects: OpenedObject[], own: string, since: number, at: number): Promise<string | undefined> {
  const current = objects.find((o) => o.name === ETCD_STATE_OBJECT);
  if (!current) return undefined;
  let best = { revision: BigInt(parseEtcdState(current.data, 'the restored etcd state').revision), data: undefined as Buffer | undefined, hub: '' };
  for (const shipped of await otherChains(dest, own, since, at)) {
    let changes;
    try {
      changes = await getChanges(dest, provider, shipped.hub, shipped.from, shipped.to, shipped.epoch);
    } catch (err) {
      throw new BackupCorruptError(`${(err as Error).message}; it may hold the group's security store as of ${new Date(at).toISOString()}: choose --at ${new Date(shipped.from).toISOString()} or earlier`);
    }
    for (const e of changes.entries) {
      if (e.purpose !== ETCD_CHANGES_PURPOSE || e.t > at || e.t < since) continue;
      const revision = BigInt(parseEtcdState(e.data, `an etcd state shipped by ${shipped.hub}`).revision);
      if (revision > best.revision) best = { revision, data: e.data, hub: shipped.hub };
    }
  }
  if (!best.data) return undefined;
  // The leader's own (singleton) state stays the backup's, as in replay.ts.
  current.data = withSingletonOf(current.data, best.data);
  return best.hub;
}

/** Shipped objects of hubs other than `own` that overlap (since, at]. */
async function otherChains(dest: Destination, own: string, since: number, at: number): Promise<{ hub: string; epoch: string; from: number; to: number }[]> {
  const out: { hub: string; epoch: string; from: number; to: number }[] = [];
  for (const key of await dest.list(CHANGES_PREFIX)) {
    const m = SHIPPED_KEY_RE.exec(key);
    if (!m || m[1] === own || m[5] !== 'manifest.json') continue;
    const [from, to] = [parseStamp(m[3]), parseStamp(m[4])];
    if (from === undefined || to === undefined || to < since || from > at) continue;
    out.push({ hub: m[1], epoch: m[2] ?? '', from, to });
  }
  return out.sort((a, b) => a.from - b.from);
}
