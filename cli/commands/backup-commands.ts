// Backups of a hub.
//   sfleet backup create | list | verify [ID] [--deep]     against a running hub (backup:* permissions)
//   sfleet backup restore --config hub.yaml [--backup ID | --at TIME] [--from DEST] [--force]   offline
// restore reads the backup section of the hub config (destinations and the backup key), checks
// every object of the backup first, and only then writes the data directory: a corrupt,
// truncated or wrongly keyed backup changes nothing. It refuses a data directory that holds
// files, or a group whose hubs are registered in etcd, unless --force. A hub group's backup
// also writes the region's durable etcd keys (tokens, revocations, users, leader state).
import type { Command } from 'commander';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { render, type Column } from '../output/render.js';
import { clientFrom, formatFrom, withConnection, withOutput } from './connection-options.js';
import { collect } from './hub-files.js';

const columns = (names: string[]): Column<Record<string, unknown>>[] => names.map((n) => ({ header: n.toUpperCase(), value: (row) => row[n] ?? '' }));
const LIST_COLUMNS = columns(['destination', 'id', 'created_at', 'hub_id', 'objects', 'bytes']);
const VERIFY_COLUMNS = columns(['destination', 'id', 'ok', 'objects', 'error']);

export function registerBackupCommands(program: Command): void {
  const backup = program.command('backup').description('backups of the hub: create, list, verify, restore');

  withOutput(withConnection(backup.command('create').description('take a backup now and write it to every destination'))).action(async (opts) => {
    const run = await clientFrom(opts).json<{ id: string; objects: number; bytes: number; destinations: { destination: string; ok: boolean }[] }>('POST', '/api/v1/backups');
    const format = formatFrom(opts);
    if (format !== 'table') process.stdout.write(`${render(run, format, [])}\n`);
    else process.stdout.write(`backup ${run.id}: ${run.objects} objects, ${run.bytes} bytes, to ${run.destinations.map((d) => d.destination).join(', ')}\n`);
  });

  withOutput(withConnection(backup.command('list').description('the complete backups of every destination'))).action(async (opts) => {
    const answer = await clientFrom(opts).json<{ items: Record<string, unknown>[]; errors: { destination: string; error: string }[] }>('GET', '/api/v1/backups');
    process.stdout.write(`${render(answer.items, formatFrom(opts), LIST_COLUMNS)}\n`);
    for (const e of answer.errors) process.stderr.write(`${e.destination}: ${e.error}\n`);
    if (answer.errors.length) process.exitCode = 1;
  });

  withOutput(
    withConnection(
      backup
        .command('verify [id]')
        .description('decrypt every object of a backup (default: the newest) and check every checksum; --deep also restores it into a scratch directory and verifies its audit chain')
        .option('--deep', 'restore into a scratch directory and verify the audit chain')
        .option('--destination <name>', 'only this destination'),
    ),
  ).action(async (id: string | undefined, opts) => {
    const q = new URLSearchParams();
    if (opts.deep) q.set('deep', 'true');
    if (opts.destination) q.set('destination', opts.destination);
    const answer = await clientFrom(opts).json<{ ok: boolean; results: Record<string, unknown>[] }>('POST', `/api/v1/backups/${encodeURIComponent(id ?? 'latest')}/verify${q.size ? `?${q}` : ''}`);
    process.stdout.write(`${render(answer.results, formatFrom(opts), VERIFY_COLUMNS)}\n`);
    if (!answer.ok) throw new Error('backup verify failed: see the error column');
  });

  backup
    .command('restore')
    .description('restore a backup into the data directory of the hub config (offline: the hub is stopped)')
    .requiredOption('--config <file>', 'the hub config (its backup section, data_dir and encryption)')
    .option('--backup <id>', 'the backup id, or latest', 'latest')
    .option('--at <time>', 'point in time (ISO-8601, e.g. 2026-11-20T14:00:00Z): the newest backup taken at or before it, then the changes shipped after it up to that time')
    .option('--from <destination>', 'the destination to read (default: the first configured)')
    .option('--force', 'restore into a data directory that holds files (moved aside) or a group with registered hubs')
    .option('--set <key=value>', 'override a config key', collect, [])
    .action(async (opts) => {
      const { loadConfigFile } = await import('../../shared/config/index.js');
      const { hubConfigSchema } = await import('../../hub/config/index.js');
      const { AtRest, createProvider } = await import('../../shared/crypto/index.js');
      const { effectiveEncryption } = await import('../../shared/security/index.js');
      const { openDestination, destinationName, parseRestoreTime, readManifest, openAll, writeRestore, inUse, RestoreRefusedError } = await import('../../hub/backup/index.js');
      const config = loadConfigFile(hubConfigSchema, opts.config, { overrides: opts.set });
      if (opts.at && opts.backup !== 'latest') throw new Error('--at and --backup name a backup each: give one of them');
      const at = opts.at ? parseRestoreTime(opts.at) : undefined;
      if (!config.backup) throw new Error(`${opts.config}: no backup section: the destinations and the backup key come from it`);
      const destConfig = opts.from ? config.backup.destinations.find((d) => destinationName(d) === opts.from) : config.backup.destinations[0];
      if (!destConfig) throw new Error(`no destination "${opts.from}" (configured: ${config.backup.destinations.map((d) => destinationName(d)).join(', ')})`);
      const dataDir = resolve(config.data_dir);
      const encryption = effectiveEncryption(config.encryption, config.security);
      const keyring = encryption?.file?.path ? resolve(encryption.file.path) : undefined;
      if (!opts.force && inUse(dataDir, keyring ? [keyring] : [])) throw new RestoreRefusedError(`${dataDir} holds a hub's data: restore into an empty directory, or pass --force (the current content is moved aside, not deleted)`);
      if (config.etcd && !opts.force) await refuseRunningGroup(config.etcd, config.region);
      const provider = config.backup.encryption === true ? createProvider(encryption!, process.env, { createKeyring: false }) : createProvider(config.backup.encryption, process.env, { createKeyring: false });
      const dest = openDestination(destConfig);
      // Point in time: the backup and the shipped chains to replay on it (across earlier restores: hub/backup/pitr/plan.ts).
      const { planAt } = await import('../../hub/backup/pitr/index.js');
      const planned = at === undefined ? undefined : await planAt(dest, provider, at);
      const manifest = planned?.manifest ?? (await readManifest(dest, opts.backup));
      // Large files are streamed, checked, into a directory beside the data directory (then moved in); it never outlives the restore.
      const spill = `${dataDir}.restore-${manifest.id}.fetched`;
      try {
        // A point-in-time restore edits the audit segments in memory (replayTo cuts the chain at
        // --at), so it keeps every object in memory as before; a plain restore streams large files.
        const objects = await openAll(dest, manifest, provider, at === undefined ? { spill } : {});
        // Point in time: the changes shipped after the backup, up to --at, applied to it in memory (a hole or a corrupt object refuses here, before anything is written).
        const replayed = planned ? await replayTo(dest, provider, manifest, planned.steps, objects, at!, config.audit) : undefined;
        const pitrNote = replayed?.note ?? '';
        // Only now, with every object checked: the restoring hub's own key (a new keyring for a fresh hub).
        const atRest = await AtRest.create(encryption, { createKeyring: true });
        // A group backup: the hub that took it restores the data directory and the group's etcd and
        // Redis state; every other hub of the group only its own audit chain.
        const own = config.hub_id === manifest.hub_id;
        const etcdObject = own ? objects.find((o) => o.kind === 'etcd') : undefined;
        const redisObject = own ? objects.find((o) => o.kind === 'redis') : undefined;
        let etcdNote = own ? '' : `; only the audit chain of hub ${config.hub_id} (the group's data and etcd/Redis state come back with hub ${manifest.hub_id}'s restore)`;
        // Point in time covers this hub's own files and audit chain and the group's etcd security
        // state (replayed above); the group's Redis state is only in the backup itself.
        if (at !== undefined && redisObject) process.stderr.write(`warning: the group's Redis state (alert and quota documents, fleet events) comes back as of backup ${manifest.id} (${manifest.created_at}), not as of --at: changes to it after the backup are not replayed\n`);
        if (etcdObject && config.etcd) etcdNote = `; ${await restoreEtcdState(config.etcd, config.region, atRest, etcdObject.data, `backup ${manifest.id}`, !!opts.force)} etcd keys into region ${config.region}`;
        else if (etcdObject) process.stderr.write(`backup ${manifest.id} holds the etcd state of a hub group (tokens, revocations, users); this config has no etcd section, so it is not restored\n`);
        if (redisObject && config.redis) etcdNote += `; ${await restoreRedisState(config.redis, config.region, redisObject.data, `backup ${manifest.id}`, !!opts.force)} into Redis`;
        else if (redisObject) process.stderr.write(`backup ${manifest.id} holds the Redis state of a hub group (alerting and quota documents, fleet events); this config has no redis section, so it is not restored\n`);
        const result = writeRestore(objects, manifest, { dataDir, ...(config.audit.dir ? { auditDir: config.audit.dir } : {}), atRest, keep: keyring ? [keyring] : [], force: !!opts.force, hubId: config.hub_id, ...(replayed ? { plan: replayed.plan } : {}) });
        process.stdout.write(`restored backup ${manifest.id} (${manifest.created_at}, hub ${manifest.hub_id}) from ${dest.name}: ${result.files} files into ${dataDir}${pitrNote}${etcdNote}${result.aside ? `; the previous content is in ${result.aside}` : ''}\n`);
      } finally {
        rmSync(spill, { recursive: true, force: true });
      }
    });
}

/** Applies the changes shipped after the backup up to `at` (the plan's steps) to its opened objects; answers the note for the output and the plan done. */
async function replayTo(
  dest: import('../../hub/backup/index.js').Destination,
  provider: import('../../shared/crypto/index.js').KeyProvider,
  manifest: import('../../hub/backup/index.js').Manifest,
  steps: import('../../hub/backup/pitr/index.js').ReplayStep[],
  objects: import('../../hub/backup/index.js').OpenedObject[],
  at: number,
  audit: import('../../hub/config/index.js').HubConfig['audit'],
): Promise<{ note: string; plan: import('../../hub/backup/pitr/index.js').RestorePlan }> {
  const { replayPlan } = await import('../../hub/backup/pitr/index.js');
  const { readSecret } = await import('../../hub/audit/index.js');
  const key = readSecret('audit HMAC key', { env: audit.hmac_key_env, file: audit.hmac_key_file });
  const r = await replayPlan(dest, provider, manifest, steps, objects, key ? Buffer.from(key) : undefined);
  const epochs = steps.length > 1 ? ` across ${steps.length - 1} later restore(s) (epochs ${steps.slice(1).map((s) => s.epoch).join(', ')})` : '';
  const shipped = r.shipped ? `replayed ${r.writes} store writes from ${r.shipped} shipped change object(s)${epochs} up to ${new Date(r.until ?? at).toISOString()}` : 'no changes shipped after the backup';
  return { note: `; point in time ${new Date(at).toISOString()}: ${shipped}; the audit chain ends at ${r.auditUntil ?? '(empty)'}`, plan: r.plan };
}

/** Writes a backup's etcd state (security store, leader state) into the restoring group's etcd; answers how many keys. */
async function restoreEtcdState(etcdConfig: NonNullable<import('../../hub/config/index.js').HubConfig['etcd']>, region: string, atRest: import('../../shared/crypto/index.js').AtRest, data: Buffer, where: string, force: boolean): Promise<number> {
  const { createEtcdClient } = await import('../../hub/leader/index.js');
  const { parseEtcdState, writeEtcdState } = await import('../../hub/backup/index.js');
  const state = parseEtcdState(data, where);
  const etcd = await createEtcdClient(etcdConfig);
  try {
    return await writeEtcdState(etcd, etcdConfig.prefix, region, atRest, state, { force });
  } finally {
    etcd.close();
  }
}

/** Writes a backup's Redis state (leader documents, fleet events) into the restoring group's Redis; answers what was written. */
async function restoreRedisState(redisConfig: NonNullable<import('../../hub/config/index.js').HubConfig['redis']>, region: string, data: Buffer, where: string, force: boolean): Promise<string> {
  const { createRedis, replicationKeys } = await import('../../hub/replication/index.js');
  const { parseRedisState, writeRedisState } = await import('../../hub/backup/index.js');
  const state = parseRedisState(data, where);
  const redis = createRedis(redisConfig, { name: 'restore', offlineQueue: true });
  try {
    const n = await writeRedisState(redis, replicationKeys(redisConfig.key_prefix, region), region, state, { force });
    return `${n.documents} documents and ${n.events} events`;
  } finally {
    redis.disconnect();
  }
}

/** A group whose hubs are registered in etcd is running: a restore under it is refused. */
async function refuseRunningGroup(etcdConfig: NonNullable<import('../../hub/config/index.js').HubConfig['etcd']>, region: string): Promise<void> {
  const { createEtcdClient } = await import('../../hub/leader/index.js');
  const { RestoreRefusedError } = await import('../../hub/backup/index.js');
  const etcd = await createEtcdClient(etcdConfig);
  try {
    const members = await etcd.namespace(etcdConfig.prefix).getAll().prefix(`members/${region}/`).keys();
    if (members.length) throw new RestoreRefusedError(`region ${region} has ${members.length} running hub(s) registered in etcd: stop them first, or pass --force (live fleet state comes back from the agents, not from backups)`);
  } finally {
    etcd.close();
  }
}
