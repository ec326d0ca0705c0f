// Point in time across restores: which backup and which shipped chains a restore to T replays.
// The hub live at T is the one of the latest restore epoch started at or before T (epoch.ts; ""
// when the hub was never restored before T). Its newest backup at or before T is the base, and
// its chain from there to T the one step. An epoch with no backup of its own before T starts from
// what its restore wrote: the plan recorded in its shipped objects, then its own chain up to T.
import type { KeyProvider } from '../../../shared/crypto/index.js';
import type { Destination } from '../destinations.js';
import { BackupNotFoundError, RestoreRefusedError } from '../errors.js';
import type { Manifest } from '../manifest.js';
import { readManifest, readManifestAt, type OpenedObject } from '../restore.js';
import type { ReplayStep, RestorePlan } from './epoch.js';
import { applyReplay, fetchReplay } from './replay.js';
import { takeNewestGroupEtcdState } from './group-etcd.js';
import { getChanges, listChanges, listEpochs, parseStamp } from './shipped.js';

/** Where an epoch's chain starts: its id names it (e<stamp>_<random>). */
const epochStart = (id: string): number => (id ? parseStamp(id.slice(1, id.indexOf('_')))! : Number.NEGATIVE_INFINITY);

/** The backup and the steps a restore to `at` replays. */
export async function planAt(dest: Destination, provider: KeyProvider, at: number): Promise<{ manifest: Manifest; steps: ReplayStep[] }> {
  const newest = await readManifestAt(dest, at);
  const hubId = newest.hub_id;
  let live = '';
  for (const id of [...(await listEpochs(dest, hubId)).keys(), newest.epoch ?? '']) if (epochStart(id) <= at && epochStart(id) > epochStart(live)) live = id;
  const base =
    (newest.epoch ?? '') === live
      ? newest
      : await readManifestAt(dest, at, { hubId, epoch: live }).catch((err: unknown) => {
          if (err instanceof BackupNotFoundError) return undefined;
          throw err;
        });
  if (base) return { manifest: base, steps: [{ epoch: live, from: Date.parse(base.created_at), until: at }] };
  // No backup of the live epoch yet: what its restore wrote, then its chain.
  const first = (await listChanges(dest, hubId, live))[0];
  if (!first) throw new RestoreRefusedError(`${dest.name}: hub ${hubId} was restored at ${new Date(epochStart(live)).toISOString()} (restore epoch ${live}) and shipped nothing since: choose --at before that restore`);
  const { plan } = await getChanges(dest, provider, hubId, first.from, first.to, live);
  if (!plan) throw new RestoreRefusedError(`${dest.name}: restore epoch ${live} of hub ${hubId} does not name the backup it was restored from (a group member restored with its chain only): choose --at before ${new Date(epochStart(live)).toISOString()} or a backup taken since`);
  return { manifest: await readManifest(dest, plan.backup), steps: [...plan.steps, { epoch: live, from: epochStart(live), until: at }] };
}

/**
 * Fetches and applies every step to the backup's opened objects (in place; nothing is written).
 * Answers the counts for the output and the plan as done, for the restored directory's epoch.
 */
export async function replayPlan(
  dest: Destination,
  provider: KeyProvider,
  manifest: Manifest,
  steps: ReplayStep[],
  objects: OpenedObject[],
  auditKey?: Buffer,
): Promise<{ writes: number; shipped: number; until?: number; auditUntil?: string; plan: RestorePlan }> {
  const fetched = [];
  // Everything is fetched and checked before anything is applied: a hole in any step refuses.
  for (const step of steps) fetched.push(await fetchReplay(dest, provider, manifest, step.until, step));
  let writes = 0;
  let auditUntil: string | undefined;
  const done: ReplayStep[] = [];
  for (const [i, step] of steps.entries()) {
    const changes = fetched[i];
    const r = applyReplay(objects, { ...manifest, created_at: new Date(step.from).toISOString() }, changes, step.until, auditKey);
    writes += r.writes;
    auditUntil = r.auditUntil ?? auditUntil;
    done.push({ ...step, through: step.through ?? changes.at(-1)?.to ?? step.from });
  }
  // A group: the security store as another leader recorded it after the backup, if newer.
  if (steps.length) await takeNewestGroupEtcdState(dest, provider, objects, manifest.hub_id, Date.parse(manifest.created_at), steps.at(-1)!.until);
  const last = fetched.at(-1)?.at(-1);
  return { writes, shipped: fetched.reduce((n, c) => n + c.length, 0), ...(last ? { until: Math.min(steps.at(-1)!.until, last.to) } : {}), ...(auditUntil ? { auditUntil } : {}), plan: { backup: manifest.id, steps: done } };
}
