// A group's recorded etcd state replaces the backup's security part only: the leader's own
// singleton state in a recorded entry is as of the start of that leader's term and may be older
// than the backup's (quota holds taken since would come back released).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createProvider } from '../../../shared/crypto/index.js';
import { LocalDestination } from '../destinations.js';
import { takeNewestGroupEtcdState } from './group-etcd.js';
import { putChanges } from './shipped.js';
import type { Manifest } from '../manifest.js';
import type { OpenedObject } from '../restore.js';
import { ETCD_STATE_OBJECT, parseEtcdState } from '../etcd-state.js';
import { ETCD_CHANGES_PURPOSE } from './etcd-changes.js';
import { applyReplay } from './replay.js';

const state = (revision: number, security: Record<string, unknown>, singleton: Record<string, string>): Buffer =>
  Buffer.from(JSON.stringify({ format: 'sfleet-etcd-state-v1', region: 'eu', revision: String(revision), security, singleton }));

describe('restore --at in a hub group: the recorded etcd state', () => {
  it("takes the recorded security store as of T and keeps the backup's leader state", () => {
    const backupAt = Date.parse('2026-12-07T10:00:00Z');
    const objects: OpenedObject[] = [{ name: ETCD_STATE_OBJECT, kind: 'etcd', data: state(10, { 'tokens/a': 'A' }, { 'quota-holds': 'held: job 7' }) }];
    const manifest = { id: 'b1', created_at: new Date(backupAt).toISOString() } as Manifest;
    const entry = (seq: number, t: number, security: Record<string, unknown>) => ({ seq, t, path: ETCD_STATE_OBJECT, purpose: ETCD_CHANGES_PURPOSE, sealed: false, data: state(10 + seq, security, { 'quota-holds': 'none (as of the term start)' }) });
    const changes = [{ hub_id: 'hub-1', from: backupAt - 1_000, to: backupAt + 60_000, entries: [entry(1, backupAt + 10_000, { 'tokens/a': 'A', 'tokens/b': 'B' }), entry(2, backupAt + 50_000, { 'tokens/b': 'B' })], audit: [] }];
    applyReplay(objects, manifest, changes, backupAt + 20_000);
    const restored = parseEtcdState(objects[0].data, 'restored');
    expect(restored.security).toEqual({ 'tokens/a': 'A', 'tokens/b': 'B' });
    expect(restored.singleton).toEqual({ 'quota-holds': 'held: job 7' });
  });
});

describe('restore --at in a hub group after the lead moved', () => {
  const root = mkdtempSync(join(tmpdir(), 'group-etcd-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const provider = createProvider({ enabled: true, provider: 'env', env: { var: 'BACKUP_KEY' } }, { BACKUP_KEY: Buffer.alloc(32, 7).toString('base64') });

  it("takes the security store the next leader recorded (a revocation stays revoked), not the backup hub's last one", async () => {
    const dest = new LocalDestination('disk', join(root, 'dest'));
    const backupAt = Date.parse('2026-12-07T10:00:00Z');
    const rec = (seq: number, t: number, revision: number, security: Record<string, unknown>) => ({ seq, t, path: ETCD_STATE_OBJECT, purpose: ETCD_CHANGES_PURPOSE, sealed: false, data: state(revision, security, { 'quota-holds': 'none' }) });
    // hub-2 led after hub-1 (which took the backup) and recorded the revocation of token b at revision 30.
    await putChanges(dest, provider, 'eu', { hub_id: 'hub-2', from: backupAt + 30_000, to: backupAt + 60_000, entries: [rec(1, backupAt + 40_000, 30, { 'tokens/a': 'A' }), rec(2, backupAt + 55_000, 31, {})], audit: [] });
    // An older leader's chain, before the backup: never taken.
    await putChanges(dest, provider, 'eu', { hub_id: 'hub-0', from: backupAt - 60_000, to: backupAt - 30_000, entries: [rec(1, backupAt - 40_000, 5, { 'tokens/old': 'O' })], audit: [] });
    const objects: OpenedObject[] = [{ name: ETCD_STATE_OBJECT, kind: 'etcd', data: state(20, { 'tokens/a': 'A', 'tokens/b': 'B' }, { 'quota-holds': 'held: job 7' }) }];
    expect(await takeNewestGroupEtcdState(dest, provider, objects, 'hub-1', backupAt, backupAt + 45_000)).toBe('hub-2');
    expect(parseEtcdState(objects[0].data, 'restored')).toMatchObject({ revision: '30', security: { 'tokens/a': 'A' }, singleton: { 'quota-holds': 'held: job 7' } });
    // Before hub-2 recorded anything, the restored state stays.
    const early: OpenedObject[] = [{ name: ETCD_STATE_OBJECT, kind: 'etcd', data: state(20, { 'tokens/a': 'A', 'tokens/b': 'B' }, {}) }];
    expect(await takeNewestGroupEtcdState(dest, provider, early, 'hub-1', backupAt, backupAt + 35_000)).toBeUndefined();
    expect(parseEtcdState(early[0].data, 'restored').security).toEqual({ 'tokens/a': 'A', 'tokens/b': 'B' });
  });
});
