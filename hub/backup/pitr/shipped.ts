// The shipped form of the changes between two ships: one sealed object and its manifest beside the
// backups, `changes/<hub_id>/<from>-<to>/objects/00000` and `.../manifest.json` (the manifest
// written last, as for a backup). It holds the change-log entries and the audit lines written in
// (from, to]; each object's `from` is the `to` of the one before it from the same hub to the same
// destination, so a missing object shows as a hole in the chain. Sealed like a backup (manifest.ts):
// AES-256-GCM under a data key of its own wrapped by the backup key, checksums in the manifest,
// the manifest authenticated.
import type { KeyProvider } from '../../../shared/crypto/index.js';
import type { Destination } from '../destinations.js';
import { BackupCorruptError } from '../errors.js';
import { ManifestReader, ManifestWriter, parseManifest, type Manifest } from '../manifest.js';
import { decodeEntry, encodeEntry, type ChangeEntry } from './change-log.js';
import type { RestorePlan } from './epoch.js';

export const CHANGES_PREFIX = 'changes/';
const FORMAT = 'sfleet-changes/1';

/** Appended audit bytes: `text` goes at `offset` of segment `file` (whole lines only). */
export interface AuditChunk {
  file: string;
  offset: number;
  text: string;
}

export interface ShippedChanges {
  hub_id: string;
  /** The restore epoch of the chain ("" for a hub never restored: epoch.ts). */
  epoch?: string;
  /** The restore that started the epoch (epoch.ts), in each of its objects. */
  plan?: RestorePlan;
  from: number;
  to: number;
  entries: ChangeEntry[];
  audit: AuditChunk[];
}

/** 2026-12-07T19:15:00.123Z -> 20261207T191500123Z: sortable, readable, to the millisecond. */
export function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:.]/g, '');
}

export function parseStamp(text: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z$/.exec(text);
  return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], +m[7]) : undefined;
}

/** A shipped object's directory: `changes/<hub_id>/[<epoch>/]<from>-<to>`. */
const dir = (hubId: string, epoch: string, from: number, to: number): string => `${CHANGES_PREFIX}${hubId}/${epoch ? `${epoch}/` : ''}${stamp(from)}-${stamp(to)}`;
const sealId = (hubId: string, epoch: string, from: number, to: number): string => `changes-${hubId}${epoch ? `-${epoch}` : ''}-${stamp(from)}-${stamp(to)}`;
/** A shipped manifest's key: hub, epoch (absent for ""), from, to. */
export const SHIPPED_KEY_RE = /^changes\/([^/]+)\/(?:(e\w+)\/)?(\d{8}T\d{9}Z)-(\d{8}T\d{9}Z)\/(manifest\.json|objects\/\d+)$/;

/** Seals and writes one shipped object to `dest`, the manifest last. */
export async function putChanges(dest: Destination, provider: KeyProvider, region: string, c: ShippedChanges): Promise<void> {
  const epoch = c.epoch ?? '';
  const body = Buffer.from(JSON.stringify({ format: FORMAT, hub_id: c.hub_id, ...(epoch ? { epoch, plan: c.plan } : {}), from: c.from, to: c.to, entries: c.entries.map((e) => encodeEntry(e).toString('utf8')), audit: c.audit }));
  const writer = await ManifestWriter.start(sealId(c.hub_id, epoch, c.from, c.to), provider);
  const sealed = writer.add('changes', 'file', body);
  const manifest = writer.finish({ created_at: new Date(c.to).toISOString(), hub_id: c.hub_id, region, ...(epoch ? { epoch } : {}) });
  await dest.put(`${dir(c.hub_id, epoch, c.from, c.to)}/objects/00000`, sealed);
  await dest.put(`${dir(c.hub_id, epoch, c.from, c.to)}/manifest.json`, Buffer.from(JSON.stringify(manifest, null, 1)));
}

/** The restore epochs of a hub that shipped to `dest` (epoch.ts), each with where its chain starts (ms). */
export async function listEpochs(dest: Destination, hubId: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const key of await dest.list(`${CHANGES_PREFIX}${hubId}/`)) {
    const m = SHIPPED_KEY_RE.exec(key);
    if (!m || !m[2] || m[5] !== 'manifest.json') continue;
    const from = parseStamp(m[3])!;
    out.set(m[2], Math.min(out.get(m[2]) ?? from, from));
  }
  return out;
}

/** The shipped intervals of one hub in a destination (complete ones: with a manifest), by `from`. */
export async function listChanges(dest: Destination, hubId: string, epoch = ''): Promise<{ from: number; to: number }[]> {
  const out: { from: number; to: number }[] = [];
  for (const key of await dest.list(`${CHANGES_PREFIX}${hubId}/${epoch ? `${epoch}/` : ''}`)) {
    const m = SHIPPED_KEY_RE.exec(key);
    if (!m || (m[2] ?? '') !== epoch || m[5] !== 'manifest.json') continue;
    const [from, to] = [parseStamp(m[3]), parseStamp(m[4])];
    if (from !== undefined && to !== undefined) out.push({ from, to });
  }
  // The same start shipped twice (a put that failed at the client but was stored, or a crash before
  // the ship state was written): the longer object holds all of the shorter one, so it comes first.
  return out.sort((a, b) => a.from - b.from || b.to - a.to);
}

/** Fetches, checks and opens one shipped object; a missing, changed or wrongly keyed one throws BackupCorruptError naming it. */
export async function getChanges(dest: Destination, provider: KeyProvider, hubId: string, from: number, to: number, epoch = ''): Promise<ShippedChanges> {
  const where = `${dest.name}: shipped changes ${stamp(from)}-${stamp(to)} of hub ${hubId}${epoch ? ` (restore epoch ${epoch})` : ''}`;
  const text = await dest.get(`${dir(hubId, epoch, from, to)}/manifest.json`);
  if (!text) throw new BackupCorruptError(`${where}: the manifest is missing`);
  const manifest: Manifest = parseManifest(text.toString('utf8'), where);
  if (manifest.id !== sealId(hubId, epoch, from, to)) throw new BackupCorruptError(`${where}: the manifest belongs to ${manifest.id} (moved or renamed)`);
  const reader = await ManifestReader.open(manifest, provider);
  let plain: Buffer;
  try {
    plain = reader.openObject(0, await dest.get(`${dir(hubId, epoch, from, to)}/objects/00000`));
  } catch (err) {
    throw new BackupCorruptError(`${where}: ${(err as Error).message}`);
  }
  const body = JSON.parse(plain.toString('utf8')) as { format: string; hub_id: string; epoch?: string; plan?: RestorePlan; from: number; to: number; entries: string[]; audit: AuditChunk[] };
  if (body.format !== FORMAT || body.hub_id !== hubId || (body.epoch ?? '') !== epoch || body.from !== from || body.to !== to) throw new BackupCorruptError(`${where}: the content does not match its name`);
  return { hub_id: hubId, ...(epoch ? { epoch } : {}), ...(body.plan ? { plan: body.plan } : {}), from, to, entries: body.entries.map((e, i) => decodeEntry(Buffer.from(e), `${where} entry ${i}`)), audit: body.audit };
}
