// While the hub's data directory cannot be written, an agent's deltas are applied in memory (the
// hub shows them) and held, not acked; once a write works they are durable and acked; what was
// never acked is not in the store, so a crash then loses nothing the agent let go of.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Delta, HubMessage } from '../../generated/fleet/v1/agent.js';
import { silentLogger } from '../../shared/logging/index.js';
import { testJob } from '../../shared/delta/testdata/fleet-fixtures.js';
import type { FleetError } from '../../shared/errors/index.js';
import { FleetState } from '../fleet/index.js';
import { HubPipeline } from '../pipeline.js';
import { FleetStore } from '../store/index.js';
import { DeltaApplier } from './delta-apply.js';
import { HeldDeltas } from './held-deltas.js';
import { newIngestStats } from './stats.js';

const CLUSTER = 'held-a';
const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup.splice(0).reverse()) c();
});

function delta(seq: number, snapshot = false): Delta {
  return { cluster: CLUSTER, epoch: 7, seq, upserts: [{ kind: { $case: 'job', value: testJob(seq, { cluster: CLUSTER }) } }], removals: [], observed_at: '', snapshot, events: [], snapshot_part: 0, snapshot_parts: 0 };
}

/** A real store in a temp dir whose durable writes fail while `broken` is set (ENOSPC). */
function setup(limit?: number, held = new HeldDeltas(limit)) {
  const dir = mkdtempSync(join(tmpdir(), 'held-'));
  const state = new FleetState();
  const store = new FleetStore({ dataDir: dir }, { logger: silentLogger() });
  const disk = { broken: false };
  const failing = {
    appendBatchDurable: (batch: Parameters<FleetStore['appendBatchDurable']>[0]) =>
      disk.broken ? Promise.reject(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })) : store.appendBatchDurable(batch),
    maybeCheckpoint: (r: Parameters<FleetStore['maybeCheckpoint']>[0]) => store.maybeCheckpoint(r),
  };
  const acks: number[] = [];
  const ended: FleetError[] = [];
  const applier = new DeltaApplier(
    { path: new HubPipeline({ state, store: failing }), stats: newIngestStats(), held },
    {
      cluster: () => CLUSTER,
      log: () => silentLogger(),
      closed: () => ended.length > 0,
      refused: () => false,
      write: (msg: HubMessage) => {
        if (msg.body?.$case === 'ack') acks.push(msg.body.value.seq);
      },
      refuse: (err) => ended.push(err),
      end: (err) => ended.push(err),
    },
  );
  cleanup.push(() => {
    applier.clear();
    store.close(state);
    rmSync(dir, { recursive: true, force: true });
  });
  /** What a hub restarted on this data directory (after a kill -9) holds. */
  const reload = (): number => {
    const fresh = new FleetState();
    const again = new FleetStore({ dataDir: dir }, { logger: silentLogger() });
    again.load(fresh);
    const seq = fresh.clusters.get(CLUSTER)?.seq ?? 0;
    // Close without a checkpoint: the files stay as the crash left them.
    (again as unknown as { wals: Map<string, { close(): void }> }).wals.forEach((w) => w.close());
    return seq;
  };
  return { state, disk, acks, ended, held, applier, reload };
}

async function until<T>(what: string, probe: () => T | undefined | false, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('deltas while the data directory cannot be written', () => {
  it('are shown at once, acked only once durable, and a crash meanwhile loses nothing acked', async () => {
    const { state, disk, acks, ended, held, applier, reload } = setup();
    applier.push(delta(1, true));
    await until('the snapshot acked', () => acks.includes(1));

    disk.broken = true;
    applier.push(delta(2));
    applier.push(delta(3));
    await until('deltas 2 and 3 in the fleet state', () => state.cluster(CLUSTER).objects.job.has(3));
    expect(state.cluster(CLUSTER).objects.job.has(2)).toBe(true);
    expect(held.of(CLUSTER).map((d) => d.seq)).toEqual([2, 3]);
    expect(acks).toEqual([1]);
    // The position named to the agent is the durable one.
    expect(applier.position()).toEqual({ epoch: 7, seq: 1 });
    // A resend of a held delta is answered with the durable position, not applied twice.
    applier.push(delta(2));
    await until('the resend answered', () => acks.length === 2);
    expect(acks).toEqual([1, 1]);
    expect(ended).toEqual([]);
    // kill -9 now: the store has what was acked.
    expect(reload()).toBe(1);

    disk.broken = false;
    // No new delta: the applier's retry writes the held ones and acks them.
    await until('the held deltas acked', () => acks.includes(3));
    expect(held.of(CLUSTER)).toEqual([]);
    expect(applier.position()).toEqual({ epoch: 7, seq: 3 });
    expect(reload()).toBe(3);
    applier.push(delta(4));
    await until('delta 4 acked', () => acks.includes(4));
    expect(reload()).toBe(4);
    expect(ended).toEqual([]);
  });

  it('past the limit the stream ends (the agent resends from its spool); memory stays bounded', async () => {
    const { state, disk, ended, held, applier } = setup(2);
    applier.push(delta(1, true));
    await until('the snapshot applied', () => state.cluster(CLUSTER).seq === 1);
    disk.broken = true;
    for (const seq of [2, 3]) {
      applier.push(delta(seq));
      await until(`delta ${seq} held`, () => held.of(CLUSTER).length === seq - 1);
    }
    applier.push(delta(4));
    await until('the stream ended', () => ended.length > 0);
    expect(ended[0].code).toBe('SF_INGEST_APPLY_FAILED');
    expect(held.of(CLUSTER).map((d) => d.seq)).toEqual([2, 3]);
    expect(state.cluster(CLUSTER).objects.job.has(4)).toBe(false);
  });

  it('in a hub group, once the oldest held delta is older than the age limit, the stream ends so the agent can move to a hub that writes', async () => {
    const clock = { now: 0 };
    const { state, disk, ended, held, applier } = setup(undefined, new HeldDeltas(undefined, 10_000, () => clock.now));
    applier.push(delta(1, true));
    await until('the snapshot applied', () => state.cluster(CLUSTER).seq === 1);
    disk.broken = true;
    applier.push(delta(2));
    await until('delta 2 held', () => held.of(CLUSTER).length === 1);
    clock.now = 9_000;
    applier.push(delta(3));
    await until('delta 3 held', () => held.of(CLUSTER).length === 2);
    expect(ended).toEqual([]);
    clock.now = 10_001;
    applier.push(delta(4));
    await until('the stream ended', () => ended.length > 0);
    expect(ended[0].code).toBe('SF_INGEST_APPLY_FAILED');
    expect(state.cluster(CLUSTER).objects.job.has(4)).toBe(false);
  });
});
