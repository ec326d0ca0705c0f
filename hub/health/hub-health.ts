// /healthz: the hub answers (it is alive) and says whether it works as promised. `degraded`
// names each reason: a store that cannot write durably (ENOSPC, EIO, EROFS, a lost file), or a
// Redis that may evict replication entries and sessions (maxmemory-policy not noeviction), or
// etcd out of reach or out of space (NOSPACE alarm; no leadership; the security store answers from its last copy),
// or a hub that cannot follow the group's scheduled key rotation.
import { describeFault, type WriteFaults } from '../../shared/durability/index.js';

export interface HubHealthSnapshot {
  status: 'ok' | 'degraded';
  reasons: string[];
}

export interface HubHealthDeps {
  faults: WriteFaults;
  /** Present with Redis: what is wrong with its eviction policy, if anything. */
  redisEviction?: { evictionProblem(): string | undefined };
  /** Clustered: etcd as the leadership sees it ('ok' or 'unreachable: ...'). */
  etcd?: () => string;
  /** Clustered: etcd's NOSPACE alarm (hub/leader/etcd-space.ts). */
  etcdSpace?: { problem(): string | undefined };
  /** Clustered: the group's security store (false: this hub answers from its last copy). */
  securityStore?: { readonly connected: boolean; readonly pending: number };
  /** With backups: the change log's shipping (hub/backup/pitr), late after two missed intervals. */
  backupShipping?: { problem(): string | undefined };
  /** Scheduled key rotation: this hub could not follow the group's key version (hub/keys/key-rewrap.ts). */
  keys?: { versions(): { group?: number; error?: string } };
}

export function hubHealth({ faults, redisEviction, etcd, etcdSpace, securityStore, backupShipping, keys }: HubHealthDeps): () => HubHealthSnapshot {
  return () => {
    const reasons = faults.degraded().map(describeFault);
    const eviction = redisEviction?.evictionProblem();
    if (eviction) reasons.push(`redis: ${eviction}`);
    const etcdStatus = etcd?.();
    if (etcdStatus !== undefined && etcdStatus !== 'ok') reasons.push(`etcd: ${etcdStatus}`);
    const space = etcdSpace?.problem();
    if (space) reasons.push(`etcd: ${space}`);
    if (securityStore && !securityStore.connected) {
      reasons.push(`security store: etcd cannot be reached; logins, tokens and revocations answer from this hub's last copy${securityStore.pending ? ` (${securityStore.pending} changes wait to be written)` : ''}`);
    }
    const shipping = backupShipping?.problem();
    if (shipping) reasons.push(shipping);
    const k = keys?.versions();
    if (k?.error) reasons.push(`keys: this hub's sealed files are not yet re-wrapped to the group's key version v${k.group ?? '?'} (retried at each check): ${k.error}`);
    return { status: reasons.length ? 'degraded' : 'ok', reasons };
  };
}
