import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/logging/index.js';
import type { LeaderContext } from './fencing.js';
import { StandaloneLeadership } from './leadership.js';

const identity = { hub_id: 'h1', region: 'r1', grpc: '127.0.0.1:1', http: '127.0.0.1:2', version: 'test' };

/** Starts a standalone leader on `file` and hands back the context its singletons get. */
async function lead(file: string): Promise<{ ctx: LeaderContext; leadership: StandaloneLeadership }> {
  const leadership = new StandaloneLeadership({ logger: silentLogger(), identity: identity as never, health: () => ({}) as never, stateFile: file });
  const got = new Promise<LeaderContext>((resolve) => leadership.runner.register({ name: 'probe', run: async (ctx) => { resolve(ctx); await new Promise((r) => ctx.signal.addEventListener('abort', r)); } }));
  leadership.start();
  return { ctx: await got, leadership };
}

describe('standalone leader state', () => {
  it("keeps singleton keys across a restart (the jobs the hold policy held, the limits the slurm policy owns)", async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sfleet-leader-')), 'leader-state.json');
    const first = await lead(file);
    await first.ctx.put('quota-holds', '[{"cluster":"c1","id":4}]');
    await first.ctx.put('quota-slurm-limits', '[]');
    await first.leadership.close();
    const second = await lead(file);
    expect(await second.ctx.get('quota-holds')).toBe('[{"cluster":"c1","id":4}]');
    expect(await second.ctx.get('quota-slurm-limits')).toBe('[]');
    await second.leadership.close();
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ 'quota-holds': '[{"cluster":"c1","id":4}]', 'quota-slurm-limits': '[]' });
  });

  it('starts empty from a damaged file, and a put that cannot reach the disk fails and changes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sfleet-leader-'));
    const file = join(dir, 'leader-state.json');
    writeFileSync(file, '{"quota-holds": [1,');
    const s = await lead(file);
    expect(await s.ctx.get('quota-holds')).toBeUndefined();
    await s.ctx.put('k', 'v');
    await s.leadership.close();
    // A directory where the file should be: the write fails.
    const blocked = await lead(join(dir, 'no-such-dir', '..', 'leader-state.json', 'x'));
    await expect(blocked.ctx.put('k', 'v')).rejects.toThrow();
    expect(await blocked.ctx.get('k')).toBeUndefined();
    await blocked.leadership.close();
  });
});
