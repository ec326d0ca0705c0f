// The quota history in a hub group, in-process with the election stubbed (as alerting's
// handover test): two hubs' QuotaHistory. With Redis (a memory fenced document, the same fence
// rule) only the leader writes, every hub answers the same, the next leader continues the
// history and the deposed one's late write is refused. Without it (or standalone) only a hub that
// sampled writes its data directory's file.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../shared/clock/index.js';
import { createLogger } from '../../shared/logging/index.js';
import { FencedOffError, type LeaderContext } from '../leader/index.js';
import type { FencedDocument } from '../replication/index.js';
import { QuotaHistory } from './history.js';
import type { TenantQuotas } from './quotas.js';

const logger = createLogger({ name: 'test', level: 'silent' });
const MIN = 60_000;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

class MemoryDocument implements FencedDocument {
  fence = 0;
  text?: string;
  writers: number[] = [];
  async get(): Promise<string | undefined> {
    return this.text;
  }
  async put(token: number, text: string): Promise<void> {
    if (token < this.fence) throw new FencedOffError(`token ${this.fence} has written since`);
    this.fence = token;
    this.text = text;
    this.writers.push(token);
  }
}

function term(token: number): { ctx: LeaderContext; end: () => void } {
  const c = new AbortController();
  return { ctx: { region: 'eu', hubId: 'h', token, signal: c.signal, assertLeading: () => undefined, put: async () => undefined, get: async () => undefined }, end: () => c.abort() };
}

/** One tenant whose job usage is whatever `usage.jobs` says at the sample. */
function setup() {
  const clock = new ManualClock(Date.parse('2026-12-07T05:00:00Z'));
  const usage = { jobs: 3 };
  const report = (): TenantQuotas[] => [
    { tenant: 'physics', schedule: { active: null, next_switch_at: null }, enforcement: { policy: 'alert', dry_run: false, held_jobs: 0, slurm_limits: [] }, limits: [{ scope: 'tenant', subject: 'physics', limit: 'max_jobs', value: 40, usage: usage.jobs, over: false }] },
  ];
  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), 'sfleet-quota-group-'));
    dirs.push(d);
    return d;
  };
  return { clock, usage, report, dir };
}

const usages = async (h: QuotaHistory) => (await h.answer({ sinceMs: 0 }))[0]?.points.map((p) => p.usage) ?? [];

describe('quota history in a hub group', () => {
  it('with Redis: only the leader writes, every hub answers the same, the next leader continues and the deposed one is refused', async () => {
    const { clock, usage, report, dir } = setup();
    const doc = new MemoryDocument();
    const [dirA, dirB] = [dir(), dir()];
    const a = new QuotaHistory({ report, clock, logger, dataDir: dirA, shared: doc }, { sampleMs: MIN });
    const b = new QuotaHistory({ report, clock, logger, dataDir: dirB, shared: doc }, { sampleMs: MIN });

    // a leads (token 1): its first sample is the region's at once.
    const t1 = term(1);
    const ranA = a.singleton().run(t1.ctx);
    await vi.waitFor(() => expect(doc.writers).toEqual([1]));
    expect(await usages(a)).toEqual([3]);
    expect(await usages(b)).toEqual([3]);
    expect(await b.answer({ sinceMs: 0 })).toEqual(await a.answer({ sinceMs: 0 }));

    // a is deposed; b leads (token 2) and goes on from a's history.
    t1.end();
    await ranA;
    usage.jobs = 9;
    clock.advance(MIN);
    const t2 = term(2);
    const ranB = b.singleton().run(t2.ctx);
    await vi.waitFor(() => expect(doc.writers).toEqual([1, 2]));
    expect(await usages(b)).toEqual([3, 9]);
    clock.advance(2_000);
    expect(await usages(a)).toEqual([3, 9]);
    expect(await a.answer({ sinceMs: 0 })).toEqual(await b.answer({ sinceMs: 0 }));

    // The deposed leader, still believing it leads (token 1), is refused: its term ends, the history is b's.
    usage.jobs = 50;
    clock.advance(MIN);
    const late = term(1);
    await expect(a.singleton().run(late.ctx)).rejects.toBeInstanceOf(FencedOffError);
    expect(doc.writers).toEqual([1, 2]);
    clock.advance(2_000);
    expect(await usages(a)).toEqual([3, 9]);

    // Nothing went to either data directory: the history is the region's only.
    t2.end();
    await ranB;
    a.close();
    b.close();
    expect(existsSync(join(dirA, 'quota-history.json'))).toBe(false);
    expect(existsSync(join(dirB, 'quota-history.json'))).toBe(false);
  });

  it('a damaged region history is started again by the leader, and a follower answers its last copy while the document cannot be read', async () => {
    const { clock, report } = setup();
    const doc = new MemoryDocument();
    doc.text = '{"version":1,"series":[{"tenant":';
    const a = new QuotaHistory({ report, clock, logger, shared: doc }, { sampleMs: MIN });
    const b = new QuotaHistory({ report, clock, logger, shared: doc }, { sampleMs: MIN });
    const t = term(1);
    const ran = a.singleton().run(t.ctx);
    await vi.waitFor(() => expect(doc.writers).toEqual([1]));
    expect(await usages(b)).toEqual([3]);
    doc.get = async () => {
      throw new Error('Redis is gone');
    };
    clock.advance(2_000);
    expect(await usages(b)).toEqual([3]);
    t.end();
    await ran;
  });

  it('without Redis: only the hub that sampled writes its file, at stop; a follower writes none', async () => {
    const { clock, report, dir } = setup();
    const [dirA, dirB] = [dir(), dir()];
    const a = new QuotaHistory({ report, clock, logger, dataDir: dirA }, { sampleMs: MIN });
    const b = new QuotaHistory({ report, clock, logger, dataDir: dirB }, { sampleMs: MIN });
    const t = term(1);
    const ran = a.singleton().run(t.ctx);
    await vi.waitFor(async () => expect(await usages(a)).toEqual([3]));
    a.close();
    b.close();
    expect(existsSync(join(dirA, 'quota-history.json'))).toBe(true);
    expect(existsSync(join(dirB, 'quota-history.json'))).toBe(false);
    expect(await usages(new QuotaHistory({ report, clock, logger, dataDir: dirA }, { sampleMs: MIN }))).toEqual([3]);
    t.end();
    await ran;
  });
});
