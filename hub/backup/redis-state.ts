// A hub group's durable state in Redis, in its backups: the leader-only documents written under
// the fence (alerting state and its log, quota history: `doc:*`) and the record of fleet events
// (the `events` stream, with its entry ids). Left out as live: the replication stream and the
// per-cluster snapshots (they come back from the agents), owners, presence, dedupe claims, login
// sessions, rate buckets (seconds to hours long) and the data keys of sealed entries (they seal
// only the replication stream, which is not kept).
//
// The documents and the events are read in one MULTI (one state of Redis). A restore writes them
// into the restoring group's Redis (refused when it already holds documents, unless forced).
import type { Redis } from 'ioredis';
import type { ReplicationKeys } from '../replication/index.js';
import { BackupCorruptError, BackupFailedError, RestoreRefusedError } from './errors.js';

export const REDIS_STATE_OBJECT = 'redis/region.json';

export interface RedisState {
  format: 'sfleet-redis-state-v1';
  region: string;
  /** document name -> its text. */
  documents: Record<string, string>;
  /** The events stream: [entry id, field, value, field, value...]. */
  events: [string, ...string[]][];
}

/** The document names of the region (the part after `doc:`). */
async function documentNames(redis: Redis, keys: ReplicationKeys): Promise<string[]> {
  const prefix = keys.document('');
  const names: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 500);
    cursor = next;
    for (const k of found) names.push(k.slice(prefix.length));
  } while (cursor !== '0');
  return [...new Set(names)].sort();
}

/** Reads the region's durable Redis keys. */
export async function readRedisState(redis: Redis, keys: ReplicationKeys, region: string): Promise<Buffer> {
  try {
    const names = await documentNames(redis, keys);
    const multi = redis.multi();
    for (const n of names) multi.get(keys.document(n));
    multi.xrange(keys.events, '-', '+');
    const results = (await multi.exec()) ?? [];
    const failed = results.find(([err]) => err);
    if (failed) throw failed[0]!;
    const documents: Record<string, string> = {};
    names.forEach((n, i) => {
      const text = results[i][1] as string | null;
      if (text !== null) documents[n] = text;
    });
    const stream = (results[names.length]?.[1] ?? []) as [string, string[]][];
    const state: RedisState = { format: 'sfleet-redis-state-v1', region, documents, events: stream.map(([id, fields]) => [id, ...fields]) };
    return Buffer.from(JSON.stringify(state));
  } catch (err) {
    // No group backup without the leader's state: alert states and quota history would be lost.
    throw new BackupFailedError(`the group's Redis state (alerting and quota documents, fleet events) could not be read: ${(err as Error).message.split('\n')[0]}`);
  }
}

export function parseRedisState(data: Buffer, where: string): RedisState {
  let state: RedisState;
  try {
    state = JSON.parse(data.toString('utf8')) as RedisState;
  } catch {
    throw new BackupCorruptError(`${where}: the Redis state is not JSON`);
  }
  if (state?.format !== 'sfleet-redis-state-v1' || typeof state.documents !== 'object' || !Array.isArray(state.events)) throw new BackupCorruptError(`${where}: not a Redis state object`);
  return state;
}

/**
 * Writes a backup's Redis state into the restoring group's Redis. Refused when the region holds
 * documents already, unless forced; forced, the documents and the events stream are replaced.
 * Answers how many keys and events were written.
 */
export async function writeRedisState(redis: Redis, keys: ReplicationKeys, region: string, state: RedisState, opts: { force?: boolean } = {}): Promise<{ documents: number; events: number }> {
  const existing = await documentNames(redis, keys);
  if (existing.length && !opts.force) throw new RestoreRefusedError(`Redis already holds ${existing.length} document(s) of region ${region} (${existing.join(', ')}): pass --force to replace them with the backup's`);
  const multi = redis.multi();
  for (const n of existing) multi.del(keys.document(n));
  multi.del(keys.events);
  for (const [n, text] of Object.entries(state.documents)) multi.set(keys.document(n), text);
  for (const [id, ...fields] of state.events) multi.xadd(keys.events, id, ...fields);
  const results = (await multi.exec()) ?? [];
  const failed = results.find(([err]) => err);
  if (failed) throw new Error(`Redis refused the restore of region ${region}: ${failed[0]!.message}`);
  return { documents: Object.keys(state.documents).length, events: state.events.length };
}
