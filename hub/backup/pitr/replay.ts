// Point-in-time restore: the newest backup at or before T, then every change shipped after it
// with time <= T applied in order (each store's file becomes its content as of T), and the audit
// chain extended by the shipped lines and cut at its last record <= T, HEAD rewritten to it (so
// `sfleet audit verify` passes). Everything is fetched, checked and applied in memory, before
// writeRestore() writes anything: a hole in the shipped chain or a corrupt object refuses the
// restore, naming it, and nothing is written.
import type { KeyProvider } from '../../../shared/crypto/index.js';
import { frame } from '../../../shared/record-log/index.js';
import { formatHead } from '../../audit/head.js';
import type { Destination } from '../destinations.js';
import { BackupCorruptError, RestoreRefusedError } from '../errors.js';
import type { Manifest } from '../manifest.js';
import type { OpenedObject } from '../restore.js';
import { ETCD_STATE_OBJECT, parseEtcdState } from '../etcd-state.js';
import type { ReplayStep } from './epoch.js';
import { ETCD_CHANGES_PURPOSE } from './etcd-changes.js';
import { getChanges, listChanges, type ShippedChanges } from './shipped.js';

const SEGMENT = /(^|\/)audit-\d{8}-\d{4}\.jsonl$/;

/** The shipped objects a restore to `at` from `manifest` needs, opened and checked, oldest first; [] when none was shipped after the backup. */
export async function fetchReplay(dest: Destination, provider: KeyProvider, manifest: Manifest, at: number, step?: Omit<ReplayStep, 'until'>): Promise<ShippedChanges[]> {
  // A step of a plan (epoch.ts): that epoch's chain from `step.from` (its start, or the backup),
  // only the objects the restore that recorded it used (`through`). Otherwise: the backup's own chain.
  const epoch = step?.epoch ?? manifest.epoch ?? '';
  const backupAt = step?.from ?? Date.parse(manifest.created_at);
  const after = (await listChanges(dest, manifest.hub_id, epoch)).filter((c) => c.to > backupAt && (step?.through === undefined || c.to <= step.through));
  if (after.length === 0) return [];
  const iso = (ms: number): string => new Date(ms).toISOString();
  // Shipping started after the backup (a new destination, a chain restarted after a state loss): a
  // change made between the two was never shipped, so any time after the backup would be incomplete.
  if (after[0].from > backupAt && at > backupAt) {
    throw new RestoreRefusedError(`${dest.name}: no shipped changes between ${step ? `the start of restore epoch ${epoch} (${iso(backupAt)})` : `backup ${manifest.id} (${manifest.created_at})`} and ${iso(after[0].from)}, where the shipped changes start: a restore to ${iso(at)} cannot be complete; choose --at ${manifest.created_at} or earlier, or a later backup`);
  }
  // The chain from the backup: each object starts where the one before ended. The first object
  // starting after T is taken too: an audit record stamped <= T may have been flushed just after a ship.
  const chain: { from: number; to: number }[] = [];
  for (const c of after) {
    if (chain.length && c.from !== chain.at(-1)!.to) {
      if (c.from < chain.at(-1)!.to) continue; // an overlap (a destination shipped again after a state loss): the first wins
      if (c.from <= at) throw new RestoreRefusedError(`${dest.name}: the shipped changes between ${iso(chain.at(-1)!.to)} and ${iso(c.from)} are missing (hub ${manifest.hub_id}): a restore to ${iso(at)} cannot be complete; choose --at ${iso(chain.at(-1)!.to)} or earlier`);
      break;
    }
    chain.push(c);
    if (c.from > at) break;
  }
  const out: ShippedChanges[] = [];
  for (const c of chain) {
    try {
      out.push(await getChanges(dest, provider, manifest.hub_id, c.from, c.to, epoch));
    } catch (err) {
      throw new BackupCorruptError(`${(err as Error).message}; the changes between ${iso(c.from)} and ${iso(c.to)} cannot be replayed: choose --at ${iso(c.from)} or earlier`);
    }
  }
  return out;
}

/**
 * Applies the shipped changes to a backup's opened objects (in place): store files as of `at`,
 * the audit chain cut at its last record <= at. Answers how many store writes were applied and
 * the time of the last audit record kept.
 */
export function applyReplay(objects: OpenedObject[], manifest: Manifest, changes: ShippedChanges[], at: number, auditKey?: Buffer): { writes: number; auditUntil?: string } {
  const backupAt = Date.parse(manifest.created_at);
  const byName = new Map(objects.map((o) => [o.name, o]));
  const put = (o: OpenedObject): void => {
    const current = byName.get(o.name);
    if (current) Object.assign(current, { kind: o.kind, data: o.data, purpose: o.purpose });
    else {
      objects.push(o);
      byName.set(o.name, o);
    }
  };
  let writes = 0;
  // Writes before the backup are in it already; those at or after it, up to T, in their order.
  const entries = changes.flatMap((c) => c.entries).filter((e) => e.t >= backupAt && e.t <= at).sort((a, b) => a.seq - b.seq);
  for (const e of entries) {
    if (e.path.split('/').some((p) => p === '' || p === '.' || p === '..')) throw new BackupCorruptError(`a shipped change names "${e.path}", not a path inside the data directory`);
    // A group's etcd security state as of this change (etcd-changes.ts): the backup's etcd object.
    // Only its security part: the leader's own singleton state in a recorded entry is as of the
    // start of that leader's term (the watch covers the security prefix only), which may be older
    // than the backup's; the backup's copy is kept (leader state restores at backup granularity).
    if (e.purpose === ETCD_CHANGES_PURPOSE) put({ name: ETCD_STATE_OBJECT, kind: 'etcd', data: withSingletonOf(byName.get(ETCD_STATE_OBJECT)?.data, e.data) });
    else put(e.sealed ? { name: `data/${e.path}`, kind: 'records', purpose: e.purpose, data: frame([e.data]) } : { name: `data/${e.path}`, kind: 'file', data: e.data });
    writes++;
  }

  // The audit chain: where the backup keeps it ("data/audit/" inside the data directory, or "audit/").
  const prefix = objects.some((o) => o.name.startsWith('audit/') && SEGMENT.test(o.name)) ? 'audit/' : 'data/audit/';
  for (const chunk of changes.flatMap((c) => c.audit)) {
    if (!/^audit-\d{8}-\d{4}\.jsonl$/.test(chunk.file)) throw new BackupCorruptError(`a shipped audit chunk names "${chunk.file}", not an audit segment`);
    const name = prefix + chunk.file;
    const have = byName.get(name)?.data ?? Buffer.alloc(0);
    const text = Buffer.from(chunk.text);
    if (have.length < chunk.offset) throw new RestoreRefusedError(`the audit lines of ${chunk.file} before byte ${chunk.offset} are neither in backup ${manifest.id} nor shipped: the chain has a hole there`);
    const overlap = Math.min(have.length - chunk.offset, text.length);
    if (!have.subarray(chunk.offset, chunk.offset + overlap).equals(text.subarray(0, overlap))) throw new BackupCorruptError(`the shipped audit lines of ${chunk.file} at byte ${chunk.offset} differ from the backup's`);
    if (overlap < text.length) put({ name, kind: 'file', data: Buffer.concat([have, text.subarray(overlap)]) });
  }
  const auditUntil = cutAudit(objects, byName, prefix, at, auditKey);
  return { writes, ...(auditUntil ? { auditUntil } : {}) };
}

/** Cuts the chain after its last record stamped <= at; later segments go; HEAD names the new end. */
function cutAudit(objects: OpenedObject[], byName: Map<string, OpenedObject>, prefix: string, at: number, key?: Buffer): string | undefined {
  const segments = objects.filter((o) => o.name.startsWith(prefix) && SEGMENT.test(o.name) && !o.name.slice(prefix.length).includes('/')).sort((a, b) => a.name.localeCompare(b.name));
  let last: { index: number; end: number; file: string; seq: number; hash: string; timestamp: string } | undefined;
  for (const [index, o] of segments.entries()) {
    let offset = 0;
    for (const line of o.data.toString('utf8').split('\n')) {
      const end = offset + Buffer.byteLength(line) + 1;
      if (line) {
        const rec = JSON.parse(line) as { type?: string; timestamp?: string; seq?: number; hash?: string };
        if (rec.type === 'record' && Date.parse(rec.timestamp ?? '') <= at) last = { index, end, file: o.name.slice(prefix.length), seq: rec.seq!, hash: rec.hash!, timestamp: rec.timestamp! };
      }
      offset = end;
    }
  }
  if (!last) return undefined;
  const keep = last;
  segments[keep.index].data = segments[keep.index].data.subarray(0, keep.end);
  const drop = new Set(segments.slice(keep.index + 1).map((o) => o.name));
  for (let i = objects.length - 1; i >= 0; i--) if (drop.has(objects[i].name)) objects.splice(i, 1);
  const head = { name: `${prefix}HEAD`, kind: 'file' as const, data: Buffer.from(formatHead({ file: keep.file, seq: keep.seq, hash: keep.hash }, key)) };
  const existing = byName.get(head.name);
  if (existing) Object.assign(existing, head);
  else objects.push(head);
  return keep.timestamp;
}

/** The recorded etcd state with the singleton part of `base` (the backup's object), when there is one. */
export function withSingletonOf(base: Buffer | undefined, recorded: Buffer): Buffer {
  if (!base) return recorded;
  const state = parseEtcdState(recorded, 'a shipped etcd state');
  state.singleton = parseEtcdState(base, 'the backup\'s etcd state').singleton;
  return Buffer.from(JSON.stringify(state));
}
