import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/logging/index.js';
import { FencedOffError, type LeaderContext } from './fencing.js';
import { StandaloneLeadership } from './leadership.js';
import { periodic, SingletonRunner } from './singletons.js';

function context(controller: AbortController, token = 7): LeaderContext {
  return {
    region: 'r',
    hubId: 'h',
    token,
    signal: controller.signal,
    assertLeading: () => {
      if (controller.signal.aborted) throw new FencedOffError('deposed');
    },
    put: async () => undefined,
    get: async () => undefined,
  };
}

const tick = () => new Promise((r) => setTimeout(r, 30));

describe('SingletonRunner', () => {
  it('runs each singleton for one term, with the token, and stops them when the term ends', async () => {
    const runner = new SingletonRunner({ logger: silentLogger() }, 10);
    const tokens: number[] = [];
    runner.register(periodic('ticker', 5, async (ctx) => void tokens.push(ctx.token)));
    expect(() => runner.register(periodic('ticker', 5, async () => undefined))).toThrow(/registered twice/);
    const term = new AbortController();
    runner.start(context(term));
    await tick();
    expect(runner.active).toEqual(['ticker']);
    expect(tokens.length).toBeGreaterThan(1);
    expect(new Set(tokens)).toEqual(new Set([7]));
    term.abort();
    await runner.settled();
    expect(runner.active).toEqual([]);
    const seen = tokens.length;
    await tick();
    expect(tokens.length).toBe(seen);
  });

  it('restarts a failing singleton and counts refused (fenced) runs apart', async () => {
    const runner = new SingletonRunner({ logger: silentLogger() }, 5);
    let runs = 0;
    runner.register({
      name: 'flaky',
      run: async () => {
        runs++;
        throw runs % 2 ? new Error('boom') : new FencedOffError('stale');
      },
    });
    const term = new AbortController();
    runner.start(context(term));
    await tick();
    term.abort();
    await runner.settled();
    const stats = runner.stats.get('flaky')!;
    expect(stats.runs).toBeGreaterThan(2);
    expect(stats.failures).toBeGreaterThan(0);
    expect(stats.refused).toBeGreaterThan(0);
  });
});

describe('StandaloneLeadership', () => {
  it('always leads with token 1, lists itself, and stops its singletons on close', async () => {
    const l = new StandaloneLeadership({
      logger: silentLogger(),
      identity: { hub_id: 'solo', region: 'r', http_url: 'https://x', grpc_address: 'x:1', version: '1' },
      health: () => ({ ready: true, redis: 'off', stale_clusters: [], ingesting: ['a'] }),
    });
    let ctx: LeaderContext | undefined;
    l.runner.register({ name: 'capture', run: async (c) => void (ctx = c) });
    l.start();
    await tick();
    expect(l.status()).toMatchObject({ mode: 'standalone', leading: true, leader: 'solo', token: 1, etcd: 'off' });
    await ctx!.put('k', 'v');
    expect(await ctx!.get('k')).toBe('v');
    const members = await l.members();
    expect(members.items.map((m) => [m.hub_id, m.leader, m.health, m.ingesting])).toEqual([['solo', true, 'ok', ['a']]]);
    await l.close();
    await expect(ctx!.put('k', 'w')).rejects.toBeInstanceOf(FencedOffError);
  });
});
