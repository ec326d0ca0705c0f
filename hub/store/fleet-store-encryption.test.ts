import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AtRest, PREFIX_BYTES } from '../../shared/crypto/index.js';
import type { Delta } from '../../shared/delta/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { wrapObject, type Job } from '../../shared/model/index.js';
import { FleetState } from '../fleet/index.js';
import { FleetStore } from './fleet-store.js';

const logger = silentLogger();
const job = (cluster: string, id: number, state = 'PENDING'): Job => ({
  cluster, id, name: `secret-run-${id}`, user: 'alice', account: 'physics', partition: 'p', qos: 'q', state, state_flags: [], state_reason: '', nodes: [], node_list: '', cpus: 1, node_count: 1, working_dir: '', comment: '', tres: '',
});
const delta = (cluster: string, seq: number, jobs: Job[], snapshot = false): Delta => ({
  cluster, epoch: 3, seq, upserts: jobs.map((j) => wrapObject('job', j)), removals: [], observed_at: '', snapshot, events: [], snapshot_part: 0, snapshot_parts: 0,
});

async function sealedStore() {
  const dataDir = mkdtempSync(join(tmpdir(), `store-enc-${process.pid}-`));
  const keyring = join(mkdtempSync(join(tmpdir(), `keys-${process.pid}-`)), 'keyring.json');
  const atRest = async () => AtRest.create({ enabled: true, provider: 'file', file: { path: keyring } });
  const store = new FleetStore({ dataDir }, { logger, atRest: await atRest() });
  store.append(delta('a', 1, [job('a', 1), job('a', 2)], true));
  store.append(delta('a', 2, [job('a', 1, 'RUNNING')]));
  store.append(delta('b', 1, [job('b', 9)], true));
  store.append(delta('b', 2, [job('b', 9, 'RUNNING')]));
  return { dataDir, atRest };
}

function load(dataDir: string, atRest: AtRest): FleetState {
  const state = new FleetState();
  new FleetStore({ dataDir }, { logger, atRest }).load(state);
  return state;
}

describe('FleetStore with encryption at rest', () => {
  it('seals checkpoints and WALs; a reload with the keyring gives the same state', async () => {
    const { dataDir, atRest } = await sealedStore();
    for (const cluster of ['a', 'b']) {
      for (const file of readdirSync(join(dataDir, 'clusters', cluster))) {
        const bytes = readFileSync(join(dataDir, 'clusters', cluster, file));
        for (const word of ['alice', 'physics', 'secret-run']) expect(bytes.includes(Buffer.from(word)), `${cluster}/${file}`).toBe(false);
      }
    }
    const state = load(dataDir, await atRest());
    expect(state.list('job').map((j) => `${j.cluster}/${j.id}:${j.state}:${j.user}`).sort()).toEqual(['a/1:RUNNING:alice', 'a/2:PENDING:alice', 'b/9:RUNNING:alice']);
  });

  it("refuses one cluster's files copied over another's: that cluster resyncs, the other loads", async () => {
    const { dataDir, atRest } = await sealedStore();
    copyFileSync(join(dataDir, 'clusters/a/checkpoint.bin'), join(dataDir, 'clusters/b/checkpoint.bin'));
    const state = load(dataDir, await atRest());
    expect(state.list('job').map((j) => `${j.cluster}/${j.id}`).sort()).toEqual(['a/1', 'a/2']);
    expect(readdirSync(join(dataDir, 'clusters/b')).some((f) => f.startsWith('checkpoint.bin.tampered-'))).toBe(true);
  });

  it('sets a tampered WAL aside and keeps the checkpoint state (the agent fills the gap)', async () => {
    const { dataDir, atRest } = await sealedStore();
    const wal = join(dataDir, 'clusters/a/wal.log');
    const bytes = readFileSync(wal);
    bytes[PREFIX_BYTES + 8 + 14] ^= 0x01;
    // Fix the CRC so only authentication can tell.
    const { crc32 } = await import('../../shared/record-log/index.js');
    const length = bytes.readUInt32LE(PREFIX_BYTES);
    bytes.writeUInt32LE(crc32(bytes.subarray(PREFIX_BYTES + 8, PREFIX_BYTES + 8 + length)), PREFIX_BYTES + 4);
    writeFileSync(wal, bytes);
    const state = load(dataDir, await atRest());
    expect(state.list('job').filter((j) => j.cluster === 'a').map((j) => `${j.id}:${j.state}`).sort()).toEqual(['1:PENDING', '2:PENDING']);
    expect(readdirSync(join(dataDir, 'clusters/a')).some((f) => f.startsWith('wal.log.tampered-'))).toBe(true);
  });

  it('stops on a missing key instead of overwriting what it would open', async () => {
    const { dataDir } = await sealedStore();
    const other = await AtRest.create({ enabled: true, provider: 'file', file: { path: join(mkdtempSync(join(tmpdir(), 'k-')), 'keyring.json') } });
    expect(() => load(dataDir, other)).toThrow(/clusters\/a\/checkpoint\.bin: sealed with file key kr-[0-9a-f]+ v1, but the configured key is file key kr-/);
  });
});
