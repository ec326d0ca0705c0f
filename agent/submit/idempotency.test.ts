import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkSubmitSpec } from '../../shared/submit/index.js';
import { restJob } from '../source/slurmrestd/rest-submit.js';
import { IdempotencyCache } from './idempotency.js';

const ok = (job_id: string) => ({ ok: true, message: `submitted job ${job_id}`, code: '', via: 'rest', history: [], job_id });

describe('idempotency keys on the agent', () => {
  it('answers a repeated key with the first result, also while the first still runs, and after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'idem-'));
    const cache = new IdempotencyCache({ max: 10, dir });
    let runs = 0;
    const work = async () => ok(String(++runs));
    const [a, b] = await Promise.all([cache.once('k', work), cache.once('k', work)]);
    expect([a.job_id, b.job_id, runs]).toEqual(['1', '1', 1]);
    expect([a.repeated, b.repeated]).toEqual([false, true]);
    const restarted = new IdempotencyCache({ max: 10, dir });
    expect(await restarted.once('k', work)).toMatchObject({ job_id: '1', repeated: true });
    expect(runs).toBe(1);
  });

  it('forgets the oldest keys past its bound, and does not remember a failure before Slurm answered', async () => {
    const cache = new IdempotencyCache({ max: 2 });
    let runs = 0;
    const work = async () => ok(String(++runs));
    for (const k of ['a', 'b', 'c']) await cache.once(k, work);
    expect((await cache.once('a', work)).job_id).toBe('4'); // 'a' was dropped
    expect((await cache.once('c', work)).job_id).toBe('3');
    const down = { ok: false, message: 'slurmrestd did not answer', code: 'SF_SLURM_UNAVAILABLE', via: '', history: [], job_id: '' };
    await cache.once('x', async () => down);
    expect((await cache.once('x', work)).ok).toBe(true);
  });
});

describe('the slurmrestd job description', () => {
  it('runs in the home unless chdir, with NONE-export environment, in the version\'s shape', () => {
    const spec = checkSubmitSpec({ wrap: 'true', account: 'research', nodes: 2, mem_mb: 100, time_minutes: 5, export: { FOO: 'bar' } });
    expect(restJob(spec, '/home/alice', 'v0.0.38')).toEqual({
      environment: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/home/alice', FOO: 'bar' },
      current_working_directory: '/home/alice',
      account: 'research',
      nodes: '2',
      memory_per_node: 100,
      time_limit: 5,
    });
    expect(restJob({ ...spec, chdir: '/tmp' }, '/home/alice', 'v0.0.40')).toMatchObject({ current_working_directory: '/tmp', environment: ['PATH=/usr/local/bin:/usr/bin:/bin', 'HOME=/home/alice', 'FOO=bar'] });
  });

  it('sends --gpus and --gpus-per-node as the strings slurmrestd reads (gpus, gpus_per_node)', () => {
    const spec = checkSubmitSpec({ wrap: 'true', gpus: 3, gpus_per_node: 'a100:1' });
    expect(restJob(spec, '/home/alice', 'v0.0.38')).toMatchObject({ gpus: '3', gpus_per_node: 'a100:1' });
  });
});
