// A hub group's durable state in etcd, in its backups: the security store of the region (API
// tokens, certificate revocations, local users with their second factors) and the leader's
// singleton state (e.g. the last scheduled backup handled). Both are read at one etcd revision,
// so the object is one state of the group. Left out as live, not durable: members, the
// election and cluster ownership (on leases: they come back from running hubs and agents) and
// login state (OIDC/SAML requests, login counters: minutes long).
//
// Sealed values (encryption at rest) are opened and kept as JSON inside the (encrypted) backup;
// a restore seals them again under the restoring group's key, as it does the data directory's
// files, so the old key material is not needed.
import type { Etcd3, IKeyValue, Namespace } from 'etcd3';
import type { AtRest } from '../../shared/crypto/index.js';
import { SECURITY_STORE_PURPOSE, ValueSealer } from '../security-store/index.js';
import { BackupCorruptError, BackupFailedError, RestoreRefusedError } from './errors.js';

/** The kinds of the security store a backup holds (the others are short-lived login state). */
export const DURABLE_SECURITY_KINDS = ['tokens', 'revocations', 'users'] as const;

export const ETCD_STATE_OBJECT = 'etcd/region.json';

export interface EtcdState {
  format: 'sfleet-etcd-state-v1';
  region: string;
  revision: string;
  /** "<kind>/<key>" -> the record. */
  security: Record<string, unknown>;
  /** singleton key -> its value (plain strings). */
  singleton: Record<string, string>;
}

const securityRoot = (region: string): string => `security/${region}/`;
const singletonRoot = (region: string): string => `singleton/${region}/`;

/** Reads the region's durable keys at one revision. */
export async function readEtcdState(client: Etcd3, prefix: string, region: string, atRest: AtRest): Promise<Buffer> {
  const ns = client.namespace(prefix);
  const sealer = new ValueSealer(atRest);
  let first, second;
  try {
    first = await ns.getAll().prefix(securityRoot(region)).exec();
    second = await ns.getAll().prefix(singletonRoot(region)).revision(String(first.header.revision)).exec();
  } catch (err) {
    // No backup without the group's tokens and users: it would restore a group nobody can use.
    throw new BackupFailedError(`the group's etcd state (tokens, revocations, users) could not be read: ${(err as Error).message.split('\n')[0]}`);
  }
  const revision = String(first.header.revision);
  const security: Record<string, unknown> = {};
  for (const kv of first.kvs) {
    const name = relative(kv, securityRoot(region));
    if (!DURABLE_SECURITY_KINDS.some((k) => name.startsWith(`${k}/`))) continue;
    security[name] = sealer.open(name, SECURITY_STORE_PURPOSE, kv.value);
  }
  const singleton: Record<string, string> = {};
  for (const kv of second.kvs) singleton[relative(kv, singletonRoot(region))] = kv.value.toString('utf8');
  const state: EtcdState = { format: 'sfleet-etcd-state-v1', region, revision, security, singleton };
  return Buffer.from(JSON.stringify(state));
}

/**
 * Applies one watched change under the region's security root to a state read by readEtcdState
 * (point-in-time recovery of a group: pitr/etcd-changes.ts). Answers whether the state changed.
 */
export function applySecurityChange(state: EtcdState, kv: IKeyValue, deleted: boolean, atRest: AtRest): boolean {
  const name = relative(kv, securityRoot(state.region));
  if (!DURABLE_SECURITY_KINDS.some((k) => name.startsWith(`${k}/`))) return false;
  if (deleted) delete state.security[name];
  else state.security[name] = new ValueSealer(atRest).open(name, SECURITY_STORE_PURPOSE, kv.value);
  state.revision = String(kv.mod_revision);
  return true;
}

export const securityPrefix = securityRoot;

/** The keys below `root` in a kv (the client's namespace may or may not be in it). */
function relative(kv: IKeyValue, root: string): string {
  const key = kv.key.toString('utf8');
  return key.slice(key.indexOf(root) + root.length);
}

export function parseEtcdState(data: Buffer, where: string): EtcdState {
  let state: EtcdState;
  try {
    state = JSON.parse(data.toString('utf8')) as EtcdState;
  } catch {
    throw new BackupCorruptError(`${where}: the etcd state is not JSON`);
  }
  if (state?.format !== 'sfleet-etcd-state-v1' || typeof state.security !== 'object' || typeof state.singleton !== 'object') throw new BackupCorruptError(`${where}: not an etcd state object`);
  return state;
}

/**
 * Writes a backup's etcd state into the region of the restoring group, sealed under its key.
 * A region that holds security state already is refused unless forced; forced, the region's
 * durable keys are replaced (etcd caps a transaction's operations, so this is done in batches:
 * run it with the group stopped).
 */
export async function writeEtcdState(client: Etcd3, prefix: string, region: string, atRest: AtRest, state: EtcdState, opts: { force?: boolean } = {}): Promise<number> {
  const ns: Namespace = client.namespace(prefix);
  const existing = await ns.getAll().prefix(securityRoot(region)).count();
  if (existing && !opts.force) throw new RestoreRefusedError(`etcd already holds ${existing} security record(s) of region ${region}: pass --force to replace them with the backup's`);
  if (opts.force) {
    for (const kind of DURABLE_SECURITY_KINDS) await ns.delete().prefix(`${securityRoot(region)}${kind}/`);
    await ns.delete().prefix(singletonRoot(region));
  }
  const sealer = new ValueSealer(atRest);
  const puts: [string, Buffer | string][] = [
    ...Object.entries(state.security).map(([name, value]): [string, Buffer] => [securityRoot(region) + name, sealer.seal(name, SECURITY_STORE_PURPOSE, value)]),
    ...Object.entries(state.singleton).map(([name, value]): [string, string] => [singletonRoot(region) + name, value]),
  ];
  for (let i = 0; i < puts.length; i += 64) {
    const batch = puts.slice(i, i + 64);
    // A comparison that always holds: the batch is one transaction, all of it or none.
    await ns.if(batch[0][0], 'Version', '>', -1).then(...batch.map(([k, v]) => ns.put(k).value(v))).commit();
  }
  return puts.length;
}
