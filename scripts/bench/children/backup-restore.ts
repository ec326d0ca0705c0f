// The backup restore benchmark's child (scripts/bench/suites/backup-restore.ts), modes so each
// measured process holds nothing but what it measures:
//   make DIR MIB        a data directory with a MIB MiB history file, backed up to DIR/backups
//                       with this build; writes DIR/hub.yaml (for `sfleet backup restore`)
//   verify DIST DIR     verifies DIR's backup with the backup code of the build in DIST (its
//                       dist/ folder), as `sfleet backup verify` does in the hub; prints one JSON
//                       line {ok, seconds, baseMiB, peakMiB}: VmRSS before, VmHWM after
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ManualClock } from '../../../shared/clock/index.js';
import { AtRest, createProvider } from '../../../shared/crypto/index.js';
import { silentLogger } from '../../../shared/logging/index.js';
import { backupConfigSchema, BackupService } from '../../../hub/backup/index.js';
import { memory } from '../lib/proc.js';

// The backup key comes from the suite, in SFLEET_BACKUP_KEY.
const ENV = { SFLEET_BACKUP_KEY: process.env.SFLEET_BACKUP_KEY };

async function make(dir: string, mib: number): Promise<void> {
  const dataDir = join(dir, 'data');
  mkdirSync(join(dataDir, 'history', 'jobs'), { recursive: true });
  // Random bytes: what Parquet's compressed pages look like to the sealing, and nothing dedupes them.
  const fd = openSync(join(dataDir, 'history', 'jobs', 'big.parquet'), 'w');
  const block = randomBytes(1024 * 1024);
  for (let i = 0; i < mib; i++) writeSync(fd, block);
  closeSync(fd);
  writeFileSync(join(dataDir, 'users.json'), '{"users":[]}');
  const section = { encryption: { enabled: true, provider: 'env', env: { var: 'SFLEET_BACKUP_KEY' } }, destinations: [{ type: 'local', path: join(dir, 'backups') }] };
  const backups = new BackupService(
    { hubId: 'bench-hub', region: 'bench', dataDir, atRest: AtRest.plaintext(), provider: createProvider(section.encryption as never, ENV), configText: () => 'region: bench\n', audit: { record: async () => undefined as never }, logger: silentLogger(), clock: new ManualClock(Date.now()), env: ENV },
    backupConfigSchema.parse(section),
  );
  const run = await backups.create();
  writeFileSync(
    join(dir, 'hub.yaml'),
    [`tls: { ca: ${join(dir, 'ca.pem')}, cert: ${join(dir, 'hub.pem')}, key: ${join(dir, 'hub-key.pem')} }`, `data_dir: ${join(dir, 'restored')}`, 'hub_id: bench-hub', 'region: bench', 'backup:', '  encryption: { enabled: true, provider: env, env: { var: SFLEET_BACKUP_KEY } }', '  destinations:', `    - { type: local, path: ${join(dir, 'backups')} }`, ''].join('\n'),
  );
  process.stdout.write(`${JSON.stringify({ id: run.id, bytes: run.bytes })}\n`);
}

async function verify(dist: string, dir: string): Promise<void> {
  const backup = (await import(pathToFileURL(join(dist, 'hub/backup/index.js')).href)) as typeof import('../../../hub/backup/index.js');
  const provider = createProvider({ enabled: true, provider: 'env', env: { var: 'SFLEET_BACKUP_KEY' } }, ENV);
  const dest = new backup.LocalDestination('disk', join(dir, 'backups'));
  const base = memory(process.pid).rssMiB;
  const t = process.hrtime.bigint();
  const outcome = await backup.verifyIn(dest, undefined, provider);
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  process.stdout.write(`${JSON.stringify({ ok: outcome.ok, error: outcome.error, seconds, baseMiB: base, peakMiB: memory(process.pid).hwmMiB })}\n`);
}

async function main(): Promise<void> {
  const [mode, a, b] = process.argv.slice(2);
  if (mode === 'make' && a && b) return make(a, Number(b));
  if (mode === 'verify' && a && b) return verify(a, b);
  throw new Error('usage: backup-restore.js make DIR MIB | verify DIST DIR');
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
