// Pins the engine's output for one seed and one tick schedule, numbers and all: refactoring the
// engine must keep the same random draws in the same order, which "same seed twice gives the same
// result" alone does not prove. If a deliberate change to the simulation moves these numbers,
// update them in that change and say why.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SimCommandError, SimEngine, toClusterModel, type TickSummary } from './index.js';

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);

function digest(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

/** Runs a fixed scenario: a busy, failing cluster ticked every 5 s with operator commands between. */
function scenario(): { engine: SimEngine; totals: TickSummary; refused: number[] } {
  let t = T0;
  const clock = { now: () => t };
  const engine = new SimEngine(
    { cluster: 'golden', nodes: 40, jobs: 400, seed: 20261206, arrivalPerMin: 25, nodeFailurePerHour: 30, minJobAgeS: 120 },
    { clock },
  );
  const totals: TickSummary = { arrived: 0, started: 0, finished: 0, purged: 0, nodeFailures: 0, nodeRecoveries: 0 };
  const refused: number[] = [];
  const attempt = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      if (!(err instanceof SimCommandError)) throw err;
      refused.push(err.errno);
    }
  };
  for (let i = 0; i < 240; i++) {
    t += 5000;
    const s = engine.tick();
    for (const k of Object.keys(totals) as (keyof TickSummary)[]) totals[k] += s[k];
    if (i % 20 === 3) {
      const arr = engine.submit({ user: 'bob', cpus: 2, durationS: 90, array: { first: 1, last: 12, max: 3 } });
      const big = engine.submit({ user: 'carol', cpus: 64, durationS: 300, qos: 'high' });
      const held = engine.submit({ user: 'alice', cpus: 4, durationS: 60, hold: true });
      attempt(() => engine.release(held));
      attempt(() => engine.setPriority(big, 5000 + i));
      if (i % 40 === 3) attempt(() => engine.cancel(arr));
    }
    if (i % 30 === 10) {
      const running = [...engine.jobs()].filter((j) => j.state === 'RUNNING');
      if (running.length > 0) attempt(() => engine.requeue(running[i % running.length].id));
      const pending = [...engine.jobs()].filter((j) => j.state === 'PENDING');
      if (pending.length > 0) attempt(() => engine.hold(pending[pending.length - 1].id));
    }
    if (i === 50) attempt(() => engine.drain(engine.nodes[5].name, 'golden'));
    if (i === 60) attempt(() => engine.down(engine.nodes[6].name, 'golden'));
    if (i === 120) {
      attempt(() => engine.resume(engine.nodes[5].name));
      attempt(() => engine.resume(engine.nodes[6].name));
    }
    if (i === 130) attempt(() => engine.cancel(1));
    if (i === 140) engine.setRates({ arrivalPerMin: 5, nodeFailurePerHour: 60 });
  }
  return { engine, totals, refused };
}

describe('SimEngine: recorded output for a fixed seed', () => {
  it('gives the same numbers and the same cluster as recorded', () => {
    const { engine, totals, refused } = scenario();
    const model = toClusterModel(engine, { slurmVersion: '24.05.3', apiVersion: 'v0.0.41', controllerHost: 'ctl' });
    const observed = {
      totals,
      refused,
      stats: { ...engine.stats },
      counts: engine.counts(),
      lastUpdate: { ...engine.lastUpdate },
      jobCount: engine.jobCount,
      jobs: digest([...engine.jobs()]),
      nodes: digest(engine.nodes),
      model: digest(model),
      // The next id also pins how many ids (jobs and split array tasks) were handed out.
      nextId: engine.submit({ cpus: 1 }),
    };
    expect(observed).toEqual(RECORDED);
  });
});

const RECORDED = {
  totals: { arrived: 304, started: 193, finished: 129, purged: 225, nodeFailures: 17, nodeRecoveries: 3 },
  refused: [2017],
  stats: { submitted: 770, started: 357, completed: 139, canceled: 10, failed: 99 },
  counts: {
    jobs: { PENDING: 415, RUNNING: 107, COMPLETED: 10, FAILED: 2, CANCELLED: 0, TIMEOUT: 0, NODE_FAIL: 11, total: 545 },
    nodes: { total: 40, idle: 0, mixed: 7, allocated: 18, down: 15, drain: 1, cpus: 1280, alloc_cpus: 763 },
  },
  lastUpdate: { jobs: 1768479600, nodes: 1768479600, partitions: 1768478400 },
  jobCount: 545,
  jobs: '1f179132cd9bafd1',
  nodes: 'ae0974c56cd3ab2e',
  model: '984cd35ec2ffa04c',
  nextId: 1771,
};
