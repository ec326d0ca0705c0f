import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AtRest, PREFIX_BYTES } from '../../shared/crypto/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { emptyClusterModel, type Job } from '../../shared/model/index.js';
import { diffPoll } from '../diff/index.js';
import { DeltaSpool } from './delta-spool.js';

const logger = silentLogger();

function job(id: number, state = 'RUNNING'): Job {
  return {
    cluster: 'c1', id, name: `protein-fold-${id}`, user: 'alice', account: 'physics', partition: 'batch', qos: 'normal', state,
    state_flags: [], state_reason: 'None', nodes: [], node_list: '', cpus: 1, node_count: 1, working_dir: '', comment: '', tres: '',
  };
}

function poll(spool: DeltaSpool, jobs: Job[]) {
  const model = emptyClusterModel();
  model.job = jobs;
  const d = diffPoll(spool.objects, { model });
  return d.upserts.length || d.removals.length ? spool.append(d.upserts, d.removals) : undefined;
}

async function setup() {
  const root = mkdtempSync(join(tmpdir(), `spool-enc-${process.pid}-`));
  const atRest = await AtRest.create({ enabled: true, provider: 'file', file: { path: join(root, 'keyring.json') } });
  return { dir: join(root, 'spool'), atRest };
}

describe('DeltaSpool with encryption at rest', () => {
  it('keeps checkpoint and log sealed, and a restart continues the same epoch and seq', async () => {
    const { dir, atRest } = await setup();
    const spool = DeltaSpool.open(dir, { cluster: 'c1', maxBytes: 1 << 20 }, { logger, atRest });
    poll(spool, [job(1), job(2)]);
    spool.ack(spool.epoch, 1);
    spool.checkpoint();
    poll(spool, [job(1), job(2, 'COMPLETED')]);
    const { epoch, lastSeq } = spool;
    spool.close();
    for (const file of readdirSync(dir)) {
      const bytes = readFileSync(join(dir, file));
      for (const word of ['alice', 'physics', 'protein-fold']) expect(bytes.includes(Buffer.from(word)), `${file} holds ${word}`).toBe(false);
    }
    const again = DeltaSpool.open(dir, { cluster: 'c1', maxBytes: 1 << 20 }, { logger, atRest: await AtRest.create({ enabled: true, provider: 'file', file: { path: join(dir, '..', 'keyring.json') } }) });
    expect([again.epoch, again.lastSeq]).toEqual([epoch, lastSeq]);
    expect(again.unacked().map((d) => d.seq)).toEqual([2]);
    expect(again.objectCount).toBe(2);
    again.close();
  });

  it('sets a tampered checkpoint aside and starts a new epoch instead of failing every start', async () => {
    const { dir, atRest } = await setup();
    const spool = DeltaSpool.open(dir, { cluster: 'c1', maxBytes: 1 << 20 }, { logger, atRest });
    poll(spool, [job(1)]);
    spool.ack(spool.epoch, 1);
    spool.checkpoint();
    const epoch = spool.epoch;
    spool.close();
    const path = join(dir, 'checkpoint.bin');
    const bytes = readFileSync(path);
    bytes[PREFIX_BYTES + 30] ^= 0x40;
    writeFileSync(path, bytes);
    const again = DeltaSpool.open(dir, { cluster: 'c1', maxBytes: 1 << 20 }, { logger, atRest });
    expect(again.epoch).not.toBe(epoch);
    expect(again.objectCount).toBe(0);
    expect(readdirSync(dir).some((f) => f.startsWith('checkpoint.bin.tampered-'))).toBe(true);
    // The next poll is a snapshot of everything in the new epoch.
    expect(poll(again, [job(1)])?.snapshot).toBe(true);
    again.close();
    // And the new epoch is what the next start continues.
    const third = DeltaSpool.open(dir, { cluster: 'c1', maxBytes: 1 << 20 }, { logger, atRest });
    expect([third.epoch, third.lastSeq, third.objectCount]).toEqual([again.epoch, 1, 1]);
    third.close();
  });
});
