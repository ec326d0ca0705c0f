// A hub group's backup holds the audit chain of every hub, not only the one that takes it: each
// hub writes its own chain on its own disk. The backing-up hub asks every other member (etcd's
// membership list) for its chain over the peers' mTLS API (POST AUDIT_PART_PATH, permission
// hub:forward, answered only to a member's certificate) and stores it as hubs/<hub_id>/audit/...
// A member that does not answer fails the backup, naming it: a group backup without a hub's
// chain would lose that hub's audit trail in a disaster.
//
// The chain travels as JSON (base64 contents), so one hub's chain is bounded by MAX_PART.
import { resolve, relative, sep } from 'node:path';
import type { AtRest } from '../../shared/crypto/index.js';
import { ForbiddenError } from '../../shared/errors/index.js';
import type { TlsMaterial } from '../../shared/tls/index.js';
import { postToPeer } from '../peers/index.js';
import { BackupFailedError } from './errors.js';
import type { ObjectKind } from './manifest.js';
import { take, walk, type SnapshotObject } from './snapshot.js';

export const AUDIT_PART_PATH = '/api/v1/backups/parts/audit';
/** The largest audit chain one hub sends (base64 in JSON: V8 strings stop at 512 MiB). */
const MAX_PART = 256 * 1024 * 1024;

export interface GroupMember {
  hub_id: string;
  http_url: string;
  tls_name?: string;
}

export interface GroupPartsDeps {
  hubId: string;
  members: () => Promise<{ items: GroupMember[]; error?: string }>;
  /** This hub's certificate and the fleet CA. */
  tls: TlsMaterial;
  timeoutMs: number;
}

interface WireObject {
  name: string;
  kind: ObjectKind;
  purpose?: string;
  data: string;
}

export interface AuditPart {
  hub_id: string;
  objects: WireObject[];
}

/** This hub's audit chain as backup objects named by their path in the audit directory. */
export function localAuditPart(hubId: string, auditDir: string, atRest: AtRest): AuditPart {
  const root = resolve(auditDir);
  const objects = walk(root, []).flatMap((path) => take(atRest, `audit/${relative(root, path).split(sep).join('/')}`, path));
  return { hub_id: hubId, objects: objects.map((o) => ({ name: o.name.slice('audit/'.length), kind: o.kind, ...(o.purpose ? { purpose: o.purpose } : {}), data: o.data.toString('base64') })) };
}

/** The route's own check past the gate: a hub certificate that a member of this group names. */
export async function checkPeer(caller: { role: string; name: string } | undefined, members: GroupPartsDeps['members'] | undefined): Promise<void> {
  if (caller?.role !== 'hub') throw new ForbiddenError('only a hub certificate of this group may fetch an audit chain for a group backup');
  if (!members) throw new ForbiddenError('this hub is in no hub group');
  const group = await members();
  if (group.error) throw new BackupFailedError(`this hub cannot check its group's membership now (${group.error})`);
  if (!group.items.some((m) => m.tls_name === caller.name)) throw new ForbiddenError(`hub ${caller.name} is not a member of this hub's group`);
}

/** The audit chains of every other member, as backup objects hubs/<hub_id>/audit/<path>. */
export async function fetchPeerAudits(deps: GroupPartsDeps): Promise<SnapshotObject[]> {
  const group = await deps.members();
  if (group.error) throw new BackupFailedError(`the group's membership could not be read, so the other hubs' audit chains cannot be fetched: ${group.error}`);
  const out: SnapshotObject[] = [];
  for (const m of group.items.filter((x) => x.hub_id !== deps.hubId).sort((a, b) => a.hub_id.localeCompare(b.hub_id))) {
    if (!/^[A-Za-z0-9._-]+$/.test(m.hub_id)) throw new BackupFailedError(`member "${m.hub_id.slice(0, 64)}" has a hub_id that cannot name a backup object`);
    let part: AuditPart;
    try {
      const a = await postToPeer(new URL(AUDIT_PART_PATH, m.http_url), { tls: deps.tls, headers: { 'content-type': 'application/json', accept: 'application/json' }, body: Buffer.from('{}'), timeoutMs: deps.timeoutMs, maxAnswer: MAX_PART });
      if (a.status !== 200) throw new Error(`HTTP ${a.status}: ${a.body.slice(0, 200)}`);
      part = JSON.parse(a.body) as AuditPart;
    } catch (err) {
      throw new BackupFailedError(`hub ${m.hub_id} of the group did not give its audit chain (${(err as Error).message.split('\n')[0]}): a group backup holds every hub's chain`);
    }
    if (part.hub_id !== m.hub_id || !Array.isArray(part.objects)) throw new BackupFailedError(`hub ${m.hub_id} answered with the audit chain of "${String(part.hub_id).slice(0, 64)}"`);
    for (const o of part.objects) out.push({ name: `hubs/${m.hub_id}/audit/${o.name}`, kind: o.kind, ...(o.purpose ? { purpose: o.purpose } : {}), data: Buffer.from(o.data, 'base64') });
  }
  return out;
}
