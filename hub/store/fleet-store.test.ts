import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeDelta, type Delta } from '../../shared/delta/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { wrapObject, type Job } from '../../shared/model/index.js';
import { FleetState } from '../fleet/index.js';
import { FleetStore } from './fleet-store.js';

const job = (cluster: string, id: number, state = 'PENDING'): Job => ({
  cluster, id, name: `j${id}`, user: 'u', account: 'a', partition: 'p', qos: 'q', state, state_flags: [], state_reason: '', nodes: [], node_list: '', cpus: 1, node_count: 1, working_dir: '', comment: '', tres: '',
});
const delta = (cluster: string, seq: number, jobs: Job[], snapshot = false): Delta => ({
  cluster, epoch: 3, seq, upserts: jobs.map((j) => wrapObject('job', j)), removals: [], observed_at: '', snapshot, events: [], snapshot_part: 0, snapshot_parts: 0,
});

describe('FleetStore batches', () => {
  it('writes the same files one by one, in a batch, and in a durable batch; a reload gives the same state', async () => {
    const deltas = [delta('a', 1, [job('a', 1), job('a', 2)], true), delta('a', 2, [job('a', 1, 'RUNNING')]), delta('a', 3, [job('a', 3)]), delta('b', 1, [job('b', 9)], true), delta('b', 2, [job('b', 9, 'RUNNING')])];
    const dirs = [mkdtempSync(join(tmpdir(), 'store-')), mkdtempSync(join(tmpdir(), 'store-')), mkdtempSync(join(tmpdir(), 'store-'))];
    const logger = silentLogger();
    const one = new FleetStore({ dataDir: dirs[0] }, { logger });
    for (const d of deltas) one.append(d);
    const batch = new FleetStore({ dataDir: dirs[1] }, { logger });
    batch.appendBatch(deltas.map((d) => ({ delta: d })));
    const durable = new FleetStore({ dataDir: dirs[2] }, { logger });
    // The bytes as received (here: as encoded) are written as they are.
    await durable.appendBatchDurable(deltas.map((d) => ({ delta: d, encoded: encodeDelta(d) })));
    for (const file of ['clusters/a/checkpoint.bin', 'clusters/a/wal.log', 'clusters/b/checkpoint.bin', 'clusters/b/wal.log']) {
      const expected = readFileSync(join(dirs[0], file));
      expect(readFileSync(join(dirs[1], file)).equals(expected), file).toBe(true);
      expect(readFileSync(join(dirs[2], file)).equals(expected), file).toBe(true);
    }
    const state = new FleetState();
    new FleetStore({ dataDir: dirs[2] }, { logger }).load(state);
    expect(state.list('job').map((j) => `${j.cluster}/${j.id}:${j.state}`).sort()).toEqual(['a/1:RUNNING', 'a/2:PENDING', 'a/3:PENDING', 'b/9:RUNNING']);
    expect(state.cluster('a').seq).toBe(3);
  });
});

describe('FleetStore files lost under the hub', () => {
  it('a checkpoint truncated or replaced is rewritten from memory at the next check, counted; a reload gives the state', async () => {
    const { WriteFaults } = await import('../../shared/durability/index.js');
    const { truncateSync, statSync, writeFileSync, renameSync } = await import('node:fs');
    const dir = mkdtempSync(join(tmpdir(), 'store-'));
    const logger = silentLogger();
    const faults = new WriteFaults({ logger });
    const store = new FleetStore({ dataDir: dir }, { logger, faults });
    const state = new FleetState();
    for (const d of [delta('a', 1, [job('a', 1), job('a', 2)], true), delta('a', 2, [job('a', 1, 'RUNNING')])]) {
      await store.appendBatchDurable([{ delta: d }]);
      state.apply(d);
    }
    const checkpoint = join(dir, 'clusters', 'a', 'checkpoint.bin');
    store.maintain(state);
    expect(faults.errorCounts().get('store') ?? 0).toBe(0);
    truncateSync(checkpoint, statSync(checkpoint).size - 5);
    store.maintain(state);
    expect(faults.errorCounts().get('store')).toBe(1);
    // Another file put in its place (a restore of an old copy): also rewritten.
    writeFileSync(`${checkpoint}.old`, readFileSync(checkpoint));
    renameSync(`${checkpoint}.old`, checkpoint);
    store.maintain(state);
    expect(faults.errorCounts().get('store')).toBe(2);
    store.maintain(state);
    expect(faults.errorCounts().get('store')).toBe(2);
    expect(faults.degraded()).toEqual([]);
    const reloaded = new FleetState();
    new FleetStore({ dataDir: dir }, { logger }).load(reloaded);
    expect(reloaded.list('job').map((j) => `${j.id}:${j.state}`).sort()).toEqual(['1:RUNNING', '2:PENDING']);
  });
});

describe('FleetStore with a WAL record that is not a delta', () => {
  it('starts with what came before the record, sets the WAL aside, and the cluster takes the resent deltas', async () => {
    const { readdirSync } = await import('node:fs');
    const { RecordLog } = await import('../../shared/record-log/index.js');
    const dir = mkdtempSync(join(tmpdir(), 'store-'));
    const logger = silentLogger();
    const store = new FleetStore({ dataDir: dir }, { logger });
    store.append(delta('a', 1, [job('a', 1), job('a', 2)], true));
    store.append(delta('a', 2, [job('a', 1, 'RUNNING')]));
    store.append(delta('b', 1, [job('b', 9)], true));
    store.close(new FleetState());
    // A record with a good checksum whose body is not a delta, then a good delta after it.
    const walPath = join(dir, 'clusters', 'a', 'wal.log');
    const { log } = RecordLog.open(walPath);
    log.append(new TextEncoder().encode('not a delta'), encodeDelta(delta('a', 3, [job('a', 3)])));
    log.close();

    const state = new FleetState();
    const loaded = new FleetStore({ dataDir: dir }, { logger }).load(state);
    expect(loaded.clusters).toBe(2);
    // Jobs 1 and 2 as of seq 2; job 3 came after the bad record and is not applied.
    expect(state.list('job').map((j) => `${j.cluster}/${j.id}:${j.state}`).sort()).toEqual(['a/1:RUNNING', 'a/2:PENDING', 'b/9:PENDING']);
    expect(state.cluster('a').seq).toBe(2);
    expect(readdirSync(join(dir, 'clusters', 'a')).filter((f) => f.startsWith('wal.log.malformed-'))).toHaveLength(1);
    // The agent resends seq 3: it fits.
    expect(state.fit(delta('a', 3, [job('a', 3)]))).toBe('apply');

    // The next start finds a clean store with the same state.
    const again = new FleetState();
    new FleetStore({ dataDir: dir }, { logger }).load(again);
    expect(again.list('job').map((j) => `${j.cluster}/${j.id}:${j.state}`).sort()).toEqual(['a/1:RUNNING', 'a/2:PENDING', 'b/9:PENDING']);
  });
});
