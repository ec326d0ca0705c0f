// Restore epochs: a restored data directory ships a chain of its own (never into the one it was
// restored from), and a restore to a time after that restore follows the restore's plan and then
// the new chain; a time before it, the old chain.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../shared/clock/index.js';
import { AtRest, createProvider, type KeyProvider } from '../../../shared/crypto/index.js';
import { silentLogger } from '../../../shared/logging/index.js';
import { backupConfigSchema, BackupService, openAll, writeRestore } from '../index.js';
import { ChangeLog, ChangeShipper, listChanges, listEpochs, planAt, readEpoch, replayPlan } from './index.js';

const ENV = { BACKUP_KEY: Buffer.alloc(32, 9).toString('base64') };
const backupKey = (): KeyProvider => createProvider({ enabled: true, provider: 'env', env: { var: 'BACKUP_KEY' } }, ENV);
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 15));

let root: string;
const logs: ChangeLog[] = [];
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'pitr-epoch-test-'));
});
afterAll(() => {
  for (const l of logs) l.close();
  rmSync(root, { recursive: true, force: true });
});

/** A hub's data directory with its change log, backups and shipper (plain files, one local destination). */
function hubOn(dataDir: string): { write: (v: string) => void; backups: BackupService; shipper: ChangeShipper } {
  mkdirSync(dataDir, { recursive: true });
  const atRest = AtRest.plaintext();
  const changes = ChangeLog.open({ dataDir, atRest, clock: systemClock, logger: silentLogger() });
  logs.push(changes);
  const config = backupConfigSchema.parse({ encryption: { enabled: true, provider: 'env', env: { var: 'BACKUP_KEY' } }, ship_interval: '2s', destinations: [{ type: 'local', name: 'disk', path: join(root, 'dest') }] });
  const backups = new BackupService({ hubId: 'h', region: 'eu', dataDir, atRest, provider: backupKey(), configText: () => 'region: eu\n', audit: { record: async () => undefined } as never, logger: silentLogger(), clock: systemClock, env: ENV }, config);
  const shipper = new ChangeShipper({ hubId: 'h', region: 'eu', dataDir, auditDir: join(dataDir, 'audit'), changes, destinations: backups.destinations, provider: backupKey(), clock: systemClock, logger: silentLogger() }, config.ship_interval);
  return { write: (v) => atRest.writeFile(join(dataDir, 'tokens.json'), 'hub/tokens', Buffer.from(v)), backups, shipper };
}

/** `restore --at` into `into`: answers the tokens file restored. */
async function restoreAt(backups: BackupService, at: number, into: string): Promise<{ tokens: string; steps: number }> {
  const d = backups.destinations[0];
  const { manifest, steps } = await planAt(d, backupKey(), at);
  const objects = await openAll(d, manifest, backupKey());
  const { plan } = await replayPlan(d, backupKey(), manifest, steps, objects);
  writeRestore(objects, manifest, { dataDir: into, atRest: AtRest.plaintext(), plan });
  return { tokens: AtRest.plaintext().readFile(join(into, 'tokens.json'), 'hub/tokens')!.toString(), steps: steps.length };
}

describe('restore epochs', () => {
  it('the restored hub ships into its own epoch; --at after that restore gives its writes, before it the old chain', async () => {
    const old = hubOn(join(root, 'old'));
    await old.shipper.ship(); // the chain starts
    old.write('0');
    await tick();
    await old.backups.create();
    await tick();
    old.write('A');
    await tick();
    await old.shipper.ship();
    await tick();
    const between = Date.now();
    await tick();
    old.write('A,B');
    await tick();
    await old.shipper.ship();
    await tick();
    const afterB = Date.now();
    const dest = old.backups.destinations[0];
    const oldChain = await listChanges(dest, 'h');

    const restored = join(root, 'restored');
    expect(await restoreAt(old.backups, between, restored)).toEqual({ tokens: 'A', steps: 1 });
    const epoch = readEpoch(restored);
    expect(epoch.id).toMatch(/^e\d{8}T\d{9}Z_[0-9a-f]{6}$/);
    expect(epoch.start).toBeGreaterThan(afterB);

    await tick();
    const next = hubOn(restored);
    next.write('A,C');
    await tick();
    await next.shipper.ship();
    await tick();
    const afterC = Date.now();
    // Its own chain, starting at the restore; the old chain is untouched.
    expect(await listChanges(dest, 'h')).toEqual(oldChain);
    expect([...(await listEpochs(dest, 'h')).entries()]).toEqual([[epoch.id, epoch.start]]);
    expect((await listChanges(dest, 'h', epoch.id))[0].from).toBe(epoch.start);

    expect(await restoreAt(old.backups, afterC, join(root, 'later'))).toEqual({ tokens: 'A,C', steps: 2 });
    expect(await restoreAt(old.backups, afterB, join(root, 'earlier'))).toEqual({ tokens: 'A,B', steps: 1 });
    // A backup of the restored hub names its epoch: a restore after it starts there, in one step.
    await new Promise((r) => setTimeout(r, 1_000)); // a backup id names its second
    await next.backups.create();
    await tick();
    expect(await restoreAt(old.backups, Date.now(), join(root, 'latest'))).toEqual({ tokens: 'A,C', steps: 1 });
  });
});
