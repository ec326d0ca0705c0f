// Point-in-time recovery below the hub, with a real data directory, encryption at rest, a real
// audit chain and a local destination: the change log records each store write in order and is
// cut only where a backup and every destination have it; a restore to a time between two
// changes has the first and not the second, its audit chain verifies and ends before the
// second; a corrupt or missing shipped object is refused, naming it, before anything is written.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../shared/clock/index.js';
import { AtRest, createProvider, type KeyProvider } from '../../../shared/crypto/index.js';
import { silentLogger } from '../../../shared/logging/index.js';
import { AuditLog, auditConfigSchema, NodeAuditFiles, verifyChain } from '../../audit/index.js';
import { backupConfigSchema, BackupService, completeBackups, destinationSchema, openAll, openDestination, readManifestAt, writeRestore } from '../index.js';
import { WriteFaults } from '../../../shared/durability/index.js';
import { hubHealth } from '../../health/hub-health.js';
import { LocalDestination } from '../destinations.js';
import { applyReplay, ChangeLog, ChangeShipper, fetchReplay, listChanges, stamp } from './index.js';
import { putChanges } from './shipped.js';
import type { Manifest } from '../manifest.js';

const ENV = { BACKUP_KEY: Buffer.alloc(32, 7).toString('base64') };
const backupKey = (): KeyProvider => createProvider({ enabled: true, provider: 'env', env: { var: 'BACKUP_KEY' } }, ENV);
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 15));

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'pitr-test-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the change log', () => {
  it('records each store write in order with its time and path, leaves out fleet checkpoints, and survives a reopen', async () => {
    const dataDir = join(root, 'log', 'data');
    mkdirSync(join(dataDir, 'clusters', 'c1'), { recursive: true });
    const atRest = await AtRest.create({ enabled: true, provider: 'file', file: { path: join(root, 'log', 'keyring.json') } });
    const log = ChangeLog.open({ dataDir, atRest, clock: systemClock, logger: silentLogger() });
    atRest.writeFile(join(dataDir, 'tokens.json'), 'hub/tokens', Buffer.from('t1'));
    atRest.writeFile(join(dataDir, 'clusters', 'c1', 'checkpoint'), 'hub/store/c1/checkpoint', Buffer.from('live state'));
    await atRest.writeFileAsync(join(dataDir, 'users.json'), 'hub/users', Buffer.from('u1'));
    atRest.writeFile(join(root, 'elsewhere.json'), 'x', Buffer.from('not in the data dir'));
    atRest.writeFile(join(dataDir, 'tokens.json'), 'hub/tokens', Buffer.from('t2'));
    expect(log.since(0).map((e) => [e.seq, e.path, e.data.toString(), e.sealed])).toEqual([
      [1, 'tokens.json', 't1', true],
      [2, 'users.json', 'u1', true],
      [3, 'tokens.json', 't2', true],
    ]);
    const times = log.since(0).map((e) => e.t);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    log.close();
    const again = ChangeLog.open({ dataDir, atRest: await AtRest.create({ enabled: true, provider: 'file', file: { path: join(root, 'log', 'keyring.json') } }), clock: systemClock, logger: silentLogger() });
    expect(again.since(1).map((e) => e.data.toString())).toEqual(['u1', 't2']);
    again.close();
  });

  it('a completed backup cuts only what every destination has and the backup holds; a seq is never reused', async () => {
    const dataDir = join(root, 'cut', 'data');
    const atRest = AtRest.plaintext();
    let now = 1_000;
    const clock = { now: () => now };
    const log = ChangeLog.open({ dataDir, atRest, clock, logger: silentLogger() });
    for (const [t, v] of [[1_000, 'a'], [2_000, 'b'], [3_000, 'c'], [4_000, 'd']] as const) {
      now = t;
      atRest.writeFile(join(dataDir, 'users.json'), 'hub/users', Buffer.from(v));
    }
    // Shipped up to seq 3, backup at 2500: seqs 1 and 2 go; 3 (after the backup) and 4 (not shipped) stay.
    expect(log.cut(2_500, 3)).toBe(2);
    expect(log.since(0).map((e) => e.seq)).toEqual([3, 4]);
    expect(log.cut(5_000, 4)).toBe(2);
    expect(log.size).toBe(0);
    log.close();
    const reopened = ChangeLog.open({ dataDir, atRest, clock, logger: silentLogger() }, 4);
    atRest.writeFile(join(dataDir, 'users.json'), 'hub/users', Buffer.from('e'));
    expect(reopened.since(4).map((e) => [e.seq, e.data.toString()])).toEqual([[5, 'e']]);
    reopened.close();
  });

  it('what every destination holds leaves the log at each ship (restores read the destinations)', async () => {
    const dataDir = join(root, 'ship-cut', 'data');
    const atRest = AtRest.plaintext();
    const log = ChangeLog.open({ dataDir, atRest, clock: systemClock, logger: silentLogger() });
    const dests = [new LocalDestination('one', join(root, 'ship-cut', 'one')), new LocalDestination('two', join(root, 'ship-cut', 'two'))];
    const shipper = new ChangeShipper({ hubId: 'h', region: 'eu', dataDir, auditDir: join(dataDir, 'audit'), changes: log, destinations: dests, provider: backupKey(), clock: systemClock, logger: silentLogger() }, 2_000);
    await shipper.ship(); // the chains start
    atRest.writeFile(join(dataDir, 'users.json'), 'hub/users', Buffer.from('a'));
    atRest.writeFile(join(dataDir, 'users.json'), 'hub/users', Buffer.from('b'));
    expect(log.size).toBe(2);
    await tick();
    await shipper.ship();
    expect(log.size).toBe(0);
    for (const d of dests) expect(await listChanges(d, 'h')).toHaveLength(1);
    log.close();
    const reopened = ChangeLog.open({ dataDir, atRest, clock: systemClock, logger: silentLogger() }, ChangeShipper.shippedSeq(dataDir));
    expect(reopened.size).toBe(0);
    reopened.close();
  });

  it('a log that is never shipped stays bounded: past maxBytes the oldest half goes, and a destination whose changes went starts a new chain', async () => {
    const dataDir = join(root, 'shed', 'data');
    const atRest = AtRest.plaintext();
    const log = ChangeLog.open({ dataDir, atRest, clock: systemClock, logger: silentLogger() });
    log.maxBytes = 1_000;
    const dest = new LocalDestination('disk', join(root, 'shed', 'dest'));
    const shipper = new ChangeShipper({ hubId: 'h', region: 'eu', dataDir, auditDir: join(dataDir, 'audit'), changes: log, destinations: [dest], provider: backupKey(), clock: systemClock, logger: silentLogger() }, 2_000);
    await shipper.ship(); // the chain starts
    for (let i = 0; i < 12; i++) atRest.writeFile(join(dataDir, 'users.json'), 'hub/users', Buffer.alloc(100, i));
    expect(log.size).toBeLessThanOrEqual(10);
    expect(log.first).toBeGreaterThan(1);
    await tick();
    await shipper.ship(); // entries 1.. went unshipped: no object, a new chain from now
    expect(await listChanges(dest, 'h')).toEqual([]);
    atRest.writeFile(join(dataDir, 'users.json'), 'hub/users', Buffer.from('after'));
    await tick();
    await shipper.ship();
    expect(await listChanges(dest, 'h')).toHaveLength(1);
    log.close();
  });

  it('an unreachable destination is retried and reported (/healthz degraded after two missed intervals) and never holds the others back', async () => {
    const dataDir = join(root, 'late', 'data');
    const atRest = AtRest.plaintext();
    const log = ChangeLog.open({ dataDir, atRest, clock: systemClock, logger: silentLogger() });
    const disk = new LocalDestination('disk', join(root, 'late', 'dest'));
    const down = openDestination(destinationSchema.parse({ type: 's3', name: 'down', bucket: 'nowhere', endpoint: 'http://127.0.0.1:9', force_path_style: true, retries: 0, timeout: '2s' }), { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' });
    const shipper = new ChangeShipper({ hubId: 'h', region: 'eu', dataDir, auditDir: join(dataDir, 'audit'), changes: log, destinations: [disk, down], provider: backupKey(), clock: systemClock, logger: silentLogger() }, 2_000);
    const health = hubHealth({ faults: new WriteFaults({ logger: silentLogger(), clock: systemClock }), backupShipping: shipper });
    await shipper.ship(); // both chains start
    for (const v of ['one', 'two']) {
      atRest.writeFile(join(dataDir, 'users.json'), 'hub/users', Buffer.from(v));
      await tick();
      await shipper.ship();
      expect(await listChanges(disk, 'h')).toHaveLength(v === 'one' ? 1 : 2);
      if (v === 'one') expect(health().status).toBe('ok'); // one missed interval is not yet late
    }
    expect(health()).toMatchObject({ status: 'degraded', reasons: [expect.stringMatching(/^backup shipping: down: 2 ships failed in a row/)] });
    expect(shipper.failedTotal.get('down')).toBe(2);
    expect(shipper.failedTotal.get('disk')).toBeUndefined();
    log.close();
  });
});

describe('point-in-time restore', () => {
  const dataDir = (): string => join(root, 'hub', 'data');
  const dest = (): string => join(root, 'hub', 'dest');
  let atRest: AtRest;
  let audit: AuditLog;
  let backups: BackupService;
  let shipper: ChangeShipper;
  let between: number;

  const record = async (resource: string): Promise<void> => void (await audit.record({ action: 'tokens:create', resource, outcome: 'success', transport: 'internal', user: null, required: true }));
  const restoreAt = async (at: number, into: string): Promise<string> => {
    const d = backups.destinations[0];
    const manifest = await readManifestAt(d, at);
    const objects = await openAll(d, manifest, backupKey());
    const changes = await fetchReplay(d, backupKey(), manifest, at);
    applyReplay(objects, manifest, changes, at);
    const target = await AtRest.create({ enabled: true, provider: 'file', file: { path: join(into, '..', 'keyring.json') } });
    writeRestore(objects, manifest, { dataDir: into, atRest: target });
    return target.readFile(join(into, 'tokens.json'), 'hub/tokens')!.toString();
  };

  beforeAll(async () => {
    mkdirSync(dataDir(), { recursive: true });
    atRest = await AtRest.create({ enabled: true, provider: 'file', file: { path: join(root, 'hub', 'keyring.json') } });
    const changes = ChangeLog.open({ dataDir: dataDir(), atRest, clock: systemClock, logger: silentLogger() });
    audit = new AuditLog(auditConfigSchema.parse({}), { hubId: 'hub-1', dataDir: dataDir(), logger: silentLogger() });
    await audit.open();
    const config = backupConfigSchema.parse({ encryption: { enabled: true, provider: 'env', env: { var: 'BACKUP_KEY' } }, ship_interval: '2s', destinations: [{ type: 'local', name: 'disk', path: dest() }] });
    backups = new BackupService({ hubId: 'hub-1', region: 'eu', dataDir: dataDir(), atRest, provider: backupKey(), exclude: [join(root, 'hub', 'keyring.json')], configText: () => 'region: eu\n', audit, logger: silentLogger(), clock: systemClock, env: ENV }, config);
    shipper = new ChangeShipper({ hubId: 'hub-1', region: 'eu', dataDir: dataDir(), auditDir: join(dataDir(), 'audit'), changes, destinations: backups.destinations, provider: backupKey(), clock: systemClock, logger: silentLogger() }, config.ship_interval);
    backups.shipper = shipper;
    await shipper.ship(); // the chain starts
    atRest.writeFile(join(dataDir(), 'tokens.json'), 'hub/tokens', Buffer.from('zero'));
    await record('token zero');
    await tick();
    await backups.create();
    await tick();
    atRest.writeFile(join(dataDir(), 'tokens.json'), 'hub/tokens', Buffer.from('A'));
    await record('token A');
    await tick();
    await shipper.ship();
    await tick();
    between = Date.now();
    await tick();
    atRest.writeFile(join(dataDir(), 'tokens.json'), 'hub/tokens', Buffer.from('A,B'));
    await record('token B');
    await tick();
    await shipper.ship();
  });
  afterAll(() => audit.close());

  it('a restore to a time between two changes shows the first and not the second; the audit chain verifies and ends before the second', async () => {
    expect(await listChanges(backups.destinations[0], 'hub-1')).toHaveLength(2);
    const into = join(root, 'restored-1', 'data');
    expect(await restoreAt(between, into)).toBe('A');
    const chain = verifyChain(new NodeAuditFiles(join(into, 'audit')));
    expect(chain).toMatchObject({ ok: true });
    const text = readdirSync(join(into, 'audit')).filter((f) => f.endsWith('.jsonl')).map((f) => new NodeAuditFiles(join(into, 'audit')).read(f)).join('');
    expect(text).toContain('token A');
    expect(text).not.toContain('token B');
    // And to now: both changes.
    expect(await restoreAt(Date.now(), join(root, 'restored-2', 'data'))).toBe('A,B');
  });

  it('a corrupt or missing shipped object is refused, naming the gap, and nothing is written', async () => {
    const [first, second] = await listChanges(backups.destinations[0], 'hub-1');
    const object = join(dest(), 'changes', 'hub-1', `${stamp(second.from)}-${stamp(second.to)}`, 'objects', '00000');
    const { readFileSync } = await import('node:fs');
    const good = readFileSync(object);
    const bad = Buffer.from(good);
    bad[bad.length - 20] ^= 1;
    writeFileSync(object, bad);
    const into = join(root, 'refused', 'data');
    await expect(restoreAt(Date.now(), into)).rejects.toThrow(new RegExp(`shipped changes ${stamp(second.from)}-${stamp(second.to)} of hub hub-1: .*does not match its checksum.*cannot be replayed: choose --at ${new Date(second.from).toISOString()} or earlier`));
    expect(existsSync(into)).toBe(false);
    writeFileSync(object, good);
    // The first object gone: a hole between the backup's chain and the second.
    rmSync(join(dest(), 'changes', 'hub-1', `${stamp(first.from)}-${stamp(first.to)}`), { recursive: true });
    await expect(restoreAt(Date.now(), into)).rejects.toThrow(/no shipped changes between backup \S+ .* and .*: a restore to .* cannot be complete/);
    // Also to a time before the first shipped object left starts: token A was written there and never shipped.
    await expect(restoreAt(second.from - 1, into)).rejects.toThrow(/no shipped changes between backup \S+ .* and .*: a restore to .* cannot be complete/);
    expect(existsSync(into)).toBe(false);
  });

  it('the same start shipped twice (a stored put the hub thought failed): the longer object is used, no hole is seen', async () => {
    const d = new LocalDestination('twice', join(root, 'twice', 'dest'));
    const t0 = Date.parse('2026-12-07T12:00:00.000Z');
    for (const [from, to] of [[0, 10], [10, 20], [10, 30], [30, 40]]) {
      await putChanges(d, backupKey(), 'eu', { hub_id: 'hub-9', from: t0 + from * 1000, to: t0 + to * 1000, entries: [], audit: [] });
    }
    const manifest = { id: 'b', created_at: new Date(t0 + 5_000).toISOString(), hub_id: 'hub-9' } as Manifest;
    const changes = await fetchReplay(d, backupKey(), manifest, t0 + 35_000);
    expect(changes.map((c) => [(c.from - t0) / 1000, (c.to - t0) / 1000])).toEqual([[0, 10], [10, 30], [30, 40]]);
  });

  it('shipped objects that end before the oldest complete backup are pruned; the rest stay', async () => {
    const d = backups.destinations[0];
    const before = await listChanges(d, 'hub-1');
    await new Promise((r) => setTimeout(r, 1_100)); // a backup id names its second
    const second = await backups.create(); // prunes too: the first backup is still there, so nothing goes
    expect(await listChanges(d, 'hub-1')).toEqual(before);
    const first = (await completeBackups(d))[0];
    expect(first).not.toBe(second.id);
    await d.remove(await d.list(`${first}/`)); // retention took the first backup
    const bound = Math.floor(Date.parse(second.created_at) / 1000) * 1000; // the second its id names
    expect(await shipper.prune()).toBe(before.filter((c) => c.to <= bound).length);
    expect(await listChanges(d, 'hub-1')).toEqual(before.filter((c) => c.to > bound));
  });

  it('ship_interval is at most 5 minutes', () => {
    const base = { destinations: [{ type: 'local', path: '/b' }] };
    expect(backupConfigSchema.parse(base).ship_interval).toBe(300_000);
    expect(() => backupConfigSchema.parse({ ...base, ship_interval: '10m' })).toThrow(/between 1s and 5m/);
  });
});
