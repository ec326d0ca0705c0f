// A snapshot's large files are held open until the backup streams them. When a later part of a
// group backup fails (a member that does not answer), those descriptors are closed, not leaked by
// every failed scheduled run; and the network parts are fetched after the history's write lock
// is let go, so a slow member does not hold the history's writes back.
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AtRest } from '../../shared/crypto/index.js';
import { releaseSnapshot, STREAM_OVER, takeSnapshot, type SnapshotSources } from './snapshot.js';

const root = mkdtempSync(join(tmpdir(), 'snapshot-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Descriptors of this process open on files under `dir`. */
function openUnder(dir: string): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(dir)) out.push(target);
    } catch {
      // Closed meanwhile (readdir's own descriptor).
    }
  }
  return out;
}

function dataDir(name: string): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'history'), { recursive: true });
  writeFileSync(join(dir, 'history', 'part-1.parquet'), Buffer.alloc(STREAM_OVER + 4096, 1));
  writeFileSync(join(dir, 'tokens.json'), '{"tokens":[]}');
  return dir;
}

describe('backup snapshot', () => {
  it('closes the large files it opened when a member of the group does not answer', async () => {
    const dir = dataDir('member-down');
    const src: SnapshotSources = {
      dataDir: dir, exclude: [], atRest: AtRest.plaintext(), configText: () => 'hub_id: a\n',
      peerAudits: () => Promise.reject(new Error('hub b does not answer')),
    };
    await expect(takeSnapshot(src)).rejects.toThrow(/hub b does not answer/);
    expect(openUnder(dir)).toEqual([]);
  });

  it('keeps them open for the backup when it succeeds, and lets them go once', async () => {
    const dir = dataDir('ok');
    const objects = await takeSnapshot({ dataDir: dir, exclude: [], atRest: AtRest.plaintext(), configText: () => 'hub_id: a\n' });
    expect(objects.map((o) => o.name).sort()).toEqual(['config/hub.yaml', 'data/history/part-1.parquet', 'data/tokens.json']);
    expect(openUnder(dir)).toEqual([join(dir, 'history', 'part-1.parquet')]);
    releaseSnapshot(objects);
    releaseSnapshot(objects);
    expect(openUnder(dir)).toEqual([]);
  });

  it('leaves the job history mirror out (derived data, rebuilt by a restored hub) and keeps the Parquet', async () => {
    const dir = dataDir('mirror');
    mkdirSync(join(dir, 'history', 'mirror'), { recursive: true });
    writeFileSync(join(dir, 'history', 'mirror', 'jobs.duckdb'), 'x');
    writeFileSync(join(dir, 'history', 'mirror', 'jobs.duckdb.wal'), 'x');
    const objects = await takeSnapshot({ dataDir: dir, exclude: [], atRest: AtRest.plaintext(), configText: () => 'hub_id: a\n' });
    try {
      expect(objects.map((o) => o.name).sort()).toEqual(['config/hub.yaml', 'data/history/part-1.parquet', 'data/tokens.json']);
    } finally {
      releaseSnapshot(objects);
    }
  });

  it('reads the files between two history writes, then fetches the network parts with the history free again', async () => {
    const dir = dataDir('lock');
    let locked = false;
    const seen: string[] = [];
    await takeSnapshot({
      dataDir: dir, exclude: [], atRest: AtRest.plaintext(), configText: () => 'hub_id: a\n',
      betweenHistoryWrites: async (fn) => {
        locked = true;
        try {
          return await fn();
        } finally {
          locked = false;
        }
      },
      etcdState: async () => (seen.push(`etcd ${locked ? 'locked' : 'free'}`), Buffer.from('{}')),
      redisState: async () => (seen.push(`redis ${locked ? 'locked' : 'free'}`), Buffer.from('{}')),
      peerAudits: async () => (seen.push(`peers ${locked ? 'locked' : 'free'}`), []),
    }).then(releaseSnapshot);
    expect(seen).toEqual(['etcd free', 'redis free', 'peers free']);
  });
});
