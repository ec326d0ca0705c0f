import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { FleetEvent } from '../../generated/fleet/v1/agent.js';
import { jobDelta } from '../../shared/delta/testdata/fleet-fixtures.js';
import type { LeaderContext } from '../leader/index.js';
import { EventRecord } from './event-record.js';
import { replicationKeys } from './keys.js';
import type { RedisFence } from './redis-fence.js';

const KEEP = 50;

function event(n: number): FleetEvent {
  return { id: `ev-${n}`, cluster: 'a', type: 'controller_failover', severity: 'warning', message: `failover ${n}`, occurred_at: '2026-12-07T00:00:00Z', attributes: {} };
}

function setup() {
  // The events the leader's script was given, by id (the script's own dedupe is Redis's).
  const offered: string[] = [];
  const fence = {
    script: async (_token: number, _body: string, argv: string[]) => {
      for (let i = 3; i < argv.length; i += 7) offered.push(argv[i]);
      return [1, (argv.length - 3) / 7];
    },
  } as unknown as RedisFence;
  const record = new EventRecord({ redis: {} as Redis, fence, keys: replicationKeys('sfleet', 'eu') }, { keep: KEEP, seenTtlMs: 60_000, maxLen: 1_000 });
  const lead = (): { stop: () => Promise<void> } => {
    const abort = new AbortController();
    const ctx = { region: 'eu', hubId: 'hub-a', token: 1, signal: abort.signal, assertLeading: () => undefined } as LeaderContext;
    const running = record.singleton().run(ctx);
    return { stop: async () => (abort.abort(), await running) };
  };
  return { record, offered, lead };
}

describe('EventRecord', () => {
  it('queues nothing on a hub that does not lead, however many events it applies', () => {
    const { record } = setup();
    for (let n = 0; n < 10_000; n++) record.observe(jobDelta([], { events: [event(n)] }));
    // Before the fix every event stayed queued for a term that never came (the soak's heap growth).
    expect(record.queued).toBe(0);
  });

  it('a term offers the recent events, then each new one, and a term that ends queues nothing', async () => {
    const { record, offered, lead } = setup();
    for (let n = 0; n < 200; n++) record.observe(jobDelta([], { events: [event(n)] }));
    const term = lead();
    await expect.poll(() => offered.length).toBe(KEEP);
    expect(offered[0]).toBe(`ev-${200 - KEEP}`);
    record.observe(jobDelta([], { events: [event(500)] }));
    await expect.poll(() => offered.at(-1)).toBe('ev-500');
    await term.stop();
    for (let n = 1_000; n < 2_000; n++) record.observe(jobDelta([], { events: [event(n)] }));
    expect(record.queued).toBe(0);
    // The next term still offers what this hub saw meanwhile (the newest KEEP).
    const next = lead();
    await expect.poll(() => offered.at(-1)).toBe('ev-1999');
    await next.stop();
    expect(offered.length).toBe(KEEP + 1 + KEEP);
  });
});
