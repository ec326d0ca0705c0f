// The restore epoch: a restored data directory starts a shipped chain of its own. Without it the
// restored hub would ship into the chain it was restored from (same hub_id), its objects
// interleaving with those the old hub shipped after the restore point. Each restore writes
// `<data_dir>/pitr/epoch.json`: a new epoch id (part of the shipped path,
// `changes/<hub_id>/<epoch>/<from>-<to>/`), when the chain starts, where the restored audit chain
// ended, and the plan of the restore (backup + the shipped chains replayed on it): a later
// `restore --at` after this restore replays the same plan, then this epoch's chain. A data
// directory never restored has the epoch "" and ships to `changes/<hub_id>/<from>-<to>/` as before.
// Each backup names the epoch of the hub that took it (its manifest), so a restore starting from
// it follows that chain.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AUDIT_FILE_RE } from '../../audit/audit-files.js';
import { writeAtomically } from '../../../shared/record-log/index.js';
import { BackupCorruptError } from '../errors.js';
import { PITR_DIR } from './change-log.js';

/** A step of a restore's plan: the shipped chain of `epoch` replayed from `from` up to `until` (ms). */
export interface ReplayStep {
  epoch: string;
  from: number;
  until: number;
  /** The end of the last shipped object the restore used: objects the chain got later are not part of it. */
  through?: number;
}

/** What a restore put in a data directory: a backup and the shipped chains replayed on it, in order. */
export interface RestorePlan {
  backup: string;
  steps: ReplayStep[];
}

export interface Epoch {
  /** "" for a data directory never restored. */
  id: string;
  /** When the restore wrote it (ms): the epoch's chain starts here. */
  start?: number;
  /** Where the restored audit chain ended: the first ship reads from here. */
  audit?: { file: string; offset: number } | null;
  /** The restore that made it (absent: a hub of a group that restored only its chain). */
  plan?: RestorePlan;
}

const FILE = 'epoch.json';
const EPOCH_RE = /^e\d{8}T\d{9}Z_[0-9a-f]{6}$/;

export const isEpochId = (id: string): boolean => EPOCH_RE.test(id);
/** e<the start as shipped.ts stamps it>_<random> (not imported from shipped.ts, which imports this file's types). */
export const newEpochId = (now: number): string => `e${new Date(now).toISOString().replace(/[-:.]/g, '')}_${randomBytes(3).toString('hex')}`;

/** The epoch of a data directory ("" when it was never restored). */
export function readEpoch(dataDir: string): Epoch {
  const file = join(dataDir, PITR_DIR, FILE);
  if (!existsSync(file)) return { id: '' };
  const epoch = JSON.parse(readFileSync(file, 'utf8')) as Epoch;
  if (!isEpochId(epoch?.id)) throw new BackupCorruptError(`${file}: not a restore epoch`);
  return epoch;
}

/** Writes a new epoch into a restored data directory; `auditDir` holds the chain as restored. */
export function writeEpoch(dataDir: string, auditDir: string, now: number, plan?: RestorePlan): Epoch {
  const epoch: Epoch = { id: newEpochId(now), start: now, audit: auditEnd(auditDir), ...(plan ? { plan } : {}) };
  mkdirSync(join(dataDir, PITR_DIR), { recursive: true, mode: 0o700 });
  writeAtomically(join(dataDir, PITR_DIR, FILE), Buffer.from(JSON.stringify(epoch)));
  return epoch;
}

/** The end of a restored chain (whole records: a restore writes whole lines). */
function auditEnd(dir: string): { file: string; offset: number } | null {
  const last = existsSync(dir) ? readdirSync(dir).filter((f) => AUDIT_FILE_RE.test(f)).sort().at(-1) : undefined;
  return last ? { file: last, offset: statSync(join(dir, last)).size } : null;
}
