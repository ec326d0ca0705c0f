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

const dir = (hubId: string, from: number, to: number): string => `${CHANGES_PREFIX}${hubId}/${stamp(from)}-${stamp(to)}`;
const sealId = (hubId: string, from: number, to: number): string => `changes-${hubId}-${stamp(from)}-${stamp(to)}`;

/** Seals and writes one shipped object to `dest`, the manifest last. */
export async function putChanges(dest: Destination, provider: KeyProvider, region: string, c: ShippedChanges): Promise<void> {
  const body = Buffer.from(JSON.stringify({ format: FORMAT, hub_id: c.hub_id, from: c.from, to: c.to, entries: c.entries.map((e) => encodeEntry(e).toString('utf8')), audit: c.audit }));
  const writer = await ManifestWriter.start(sealId(c.hub_id, c.from, c.to), provider);
  const sealed = writer.add('changes', 'file', body);
  const manifest = writer.finish({ created_at: new Date(c.to).toISOString(), hub_id: c.hub_id, region });
  await dest.put(`${dir(c.hub_id, c.from, c.to)}/objects/00000`, sealed);
  await dest.put(`${dir(c.hub_id, c.from, c.to)}/manifest.json`, Buffer.from(JSON.stringify(manifest, null, 1)));
}

/** The shipped intervals of one hub in a destination (complete ones: with a manifest), by `from`. */
export async function listChanges(dest: Destination, hubId: string): Promise<{ from: number; to: number }[]> {
  const out: { from: number; to: number }[] = [];
  for (const key of await dest.list(`${CHANGES_PREFIX}${hubId}/`)) {
    const m = /^changes\/[^/]+\/(\w+)-(\w+)\/manifest\.json$/.exec(key);
    const [from, to] = m ? [parseStamp(m[1]), parseStamp(m[2])] : [];
    if (from !== undefined && to !== undefined) out.push({ from, to });
  }
  // The same start shipped twice (a put that failed at the client but was stored, or a crash before
  // the ship state was written): the longer object holds all of the shorter one, so it comes first.
  return out.sort((a, b) => a.from - b.from || b.to - a.to);
}

/** Fetches, checks and opens one shipped object; a missing, changed or wrongly keyed one throws BackupCorruptError naming it. */
export async function getChanges(dest: Destination, provider: KeyProvider, hubId: string, from: number, to: number): Promise<ShippedChanges> {
  const where = `${dest.name}: shipped changes ${stamp(from)}-${stamp(to)} of hub ${hubId}`;
  const text = await dest.get(`${dir(hubId, from, to)}/manifest.json`);
  if (!text) throw new BackupCorruptError(`${where}: the manifest is missing`);
  const manifest: Manifest = parseManifest(text.toString('utf8'), where);
  if (manifest.id !== sealId(hubId, from, to)) throw new BackupCorruptError(`${where}: the manifest belongs to ${manifest.id} (moved or renamed)`);
  const reader = await ManifestReader.open(manifest, provider);
  let plain: Buffer;
  try {
    plain = reader.openObject(0, await dest.get(`${dir(hubId, from, to)}/objects/00000`));
  } catch (err) {
    throw new BackupCorruptError(`${where}: ${(err as Error).message}`);
  }
  const body = JSON.parse(plain.toString('utf8')) as { format: string; hub_id: string; from: number; to: number; entries: string[]; audit: AuditChunk[] };
  if (body.format !== FORMAT || body.hub_id !== hubId || body.from !== from || body.to !== to) throw new BackupCorruptError(`${where}: the content does not match its name`);
  return { hub_id: hubId, from, to, entries: body.entries.map((e, i) => decodeEntry(Buffer.from(e), `${where} entry ${i}`)), audit: body.audit };
}
