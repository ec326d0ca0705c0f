// A group's recorded etcd state replaces the backup's security part only: the leader's own
// singleton state in a recorded entry is as of the start of that leader's term and may be older
// than the backup's (quota holds taken since would come back released).
import { describe, expect, it } from 'vitest';
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
