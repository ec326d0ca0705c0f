import { describe, expect, it } from 'vitest';
import { SimCommandError, SimEngine, toClusterModel, type SimEngineOptions } from './index.js';

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);

function fakeClock(start = T0): { now(): number; set(ms: number): void; advance(ms: number): number } {
  let t = start;
  return {
    now: () => t,
    set: (ms) => {
      t = ms;
    },
    advance: (ms) => (t += ms),
  };
}

/** A small, quiet cluster: no arrivals, no failures, no initial jobs unless asked. */
function quiet(over: Partial<SimEngineOptions> = {}): { engine: SimEngine; clock: ReturnType<typeof fakeClock> } {
  const clock = fakeClock();
  const engine = new SimEngine(
    { cluster: 'test', nodes: 4, jobs: 0, seed: 7, cpusPerNode: 8, arrivalPerMin: 0, nodeFailurePerHour: 0, minJobAgeS: 300, ...over },
    { clock },
  );
  return { engine, clock };
}

function step(engine: SimEngine, clock: ReturnType<typeof fakeClock>, ms: number) {
  return engine.tick(clock.advance(ms));
}

function snapshot(engine: SimEngine): string {
  return JSON.stringify(toClusterModel(engine, { slurmVersion: '24.05.3', apiVersion: 'v0.0.41', controllerHost: 'ctl' }));
}

function commandError(fn: () => void): SimCommandError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SimCommandError) return err;
    throw err;
  }
  throw new Error('expected a SimCommandError');
}

describe('SimEngine: initial cluster', () => {
  it('builds nodes, partitions, QOS, accounts, associations and a reservation', () => {
    const { engine } = quiet({ nodes: 64, cpusPerNode: 32 });
    expect(engine.nodes).toHaveLength(64);
    expect(engine.nodes[0].name).toBe('cn001');
    expect(engine.nodes[63].name).toBe('cn064');
    expect(engine.partitions.map((p) => p.name)).toEqual(['debug', 'batch']);
    expect(engine.partition('debug')?.nodes).toHaveLength(16);
    expect(engine.partition('batch')?.nodes).toHaveLength(64);
    expect(engine.partition('batch')?.isDefault).toBe(true);
    expect(engine.qos.map((q) => q.name)).toEqual(['normal', 'high', 'low']);
    expect(engine.accounts.map((a) => a.name)).toEqual(['research', 'ops', 'physics', 'chem']);
    expect(engine.associations.some((a) => a.user === 'alice' && a.account === 'research')).toBe(true);
    expect(engine.reservations).toHaveLength(1);
    // one node down and one drained, as on a real site
    expect(engine.nodes.filter((n) => n.down)).toHaveLength(1);
    expect(engine.nodes.filter((n) => n.drain)).toHaveLength(1);
  });

  it('pads node names to the node count', () => {
    const { engine } = quiet({ nodes: 1200, nodePrefix: 'gpu' });
    expect(engine.nodes[0].name).toBe('gpu0001');
    expect(engine.nodes[1199].name).toBe('gpu1200');
  });

  it('starts with a realistic job mix', () => {
    const clock = fakeClock();
    const engine = new SimEngine({ cluster: 'mix', nodes: 64, jobs: 500, seed: 3, nodeFailurePerHour: 0 }, { clock });
    const jobs = [...engine.jobs()];
    expect(jobs.length).toBeGreaterThanOrEqual(500);
    const states = new Set(jobs.map((j) => j.state));
    for (const s of ['RUNNING', 'PENDING', 'COMPLETED']) expect(states.has(s as never)).toBe(true);
    expect(jobs.some((j) => j.state === 'FAILED' || j.state === 'TIMEOUT' || j.state === 'CANCELLED')).toBe(true);
    const running = jobs.filter((j) => j.state === 'RUNNING');
    for (const j of running) {
      expect(j.alloc.length).toBe(j.nodeCount);
      expect(j.startTime).toBeLessThanOrEqual(engine.now);
    }
    const pendingReasons = new Set(jobs.filter((j) => j.state === 'PENDING').map((j) => j.stateReason));
    expect(pendingReasons.has('Priority') || pendingReasons.has('Resources')).toBe(true);
    expect(pendingReasons.has('JobHeldUser')).toBe(true);
    const held = jobs.filter((j) => j.stateReason === 'JobHeldUser');
    for (const j of held) expect(j.priority).toBe(0);
    // finished jobs are recent (MinJobAge)
    for (const j of jobs.filter((x) => x.state === 'COMPLETED')) expect(engine.now - j.endTime).toBeLessThanOrEqual(300);
    // allocated CPUs on nodes match the running jobs
    const alloc = engine.nodes.reduce((n, node) => n + node.allocCpus, 0);
    expect(alloc).toBe(running.reduce((n, j) => n + j.alloc.reduce((m, a) => m + a.cores.length, 0), 0));
  });

  it('keeps arrays as one compact pending record plus split-off tasks', () => {
    const clock = fakeClock();
    const engine = new SimEngine({ cluster: 'arr', nodes: 64, jobs: 3000, seed: 11, nodeFailurePerHour: 0 }, { clock });
    const compact = [...engine.jobs()].filter((j) => engine.arrayTaskString(j) !== '');
    expect(compact.length).toBeGreaterThan(0);
    for (const rec of compact) {
      expect(rec.arrayJobId).toBe(rec.id);
      expect(rec.arrayTaskId).toBeNull();
      expect(engine.arrayTaskString(rec)).toMatch(/^\d+(-\d+)?(%\d+)?$/);
    }
    const tasks = [...engine.jobs()].filter((j) => j.arrayJobId !== 0 && j.arrayTaskId !== null);
    expect(tasks.length).toBeGreaterThan(0);
  });
});

describe('SimEngine: time', () => {
  it('is reproducible for a seed and differs for another', () => {
    const run = (seed: number) => {
      const clock = fakeClock();
      const engine = new SimEngine({ cluster: 'd', nodes: 32, jobs: 300, seed, arrivalPerMin: 20, nodeFailurePerHour: 20 }, { clock });
      for (let i = 0; i < 120; i++) step(engine, clock, 5000);
      return snapshot(engine);
    };
    expect(run(42)).toBe(run(42));
    expect(run(42)).not.toBe(run(43));
  });

  it('lets jobs arrive at the configured rate', () => {
    const { engine, clock } = quiet({ nodes: 16, arrivalPerMin: 60 });
    const before = engine.jobCount;
    let arrived = 0;
    for (let i = 0; i < 10; i++) arrived += step(engine, clock, 60_000).arrived;
    expect(arrived).toBeGreaterThan(450);
    expect(arrived).toBeLessThan(750);
    expect(engine.jobCount).toBeGreaterThan(before);
  });

  it('starts, completes, fails and times out jobs', () => {
    const { engine, clock } = quiet();
    const ok = engine.submit({ user: 'bob', cpus: 2, durationS: 30, timeLimitMin: 10 });
    const bad = engine.submit({ user: 'carol', cpus: 1, durationS: 20, outcome: 'FAILED', exitCode: 3 });
    const slow = engine.submit({ user: 'dave', cpus: 1, timeLimitMin: 1, outcome: 'TIMEOUT' });
    expect(engine.job(ok)?.state).toBe('PENDING');
    step(engine, clock, 1000);
    for (const id of [ok, bad, slow]) expect(engine.job(id)?.state).toBe('RUNNING');
    expect(engine.job(ok)?.alloc[0].cores).toHaveLength(2);
    step(engine, clock, 31_000);
    expect(engine.job(ok)).toMatchObject({ state: 'COMPLETED', exitCode: 0, stateReason: 'None' });
    expect(engine.job(bad)).toMatchObject({ state: 'FAILED', exitCode: 3, stateReason: 'NonZeroExitCode' });
    expect(engine.job(slow)?.state).toBe('RUNNING');
    step(engine, clock, 30_000);
    expect(engine.job(slow)).toMatchObject({ state: 'TIMEOUT', exitSignal: 15, stateReason: 'TimeLimit' });
    expect(engine.nodes.reduce((n, node) => n + node.allocCpus, 0)).toBe(0);
  });

  it('keeps pending jobs until CPUs free up, highest priority first', () => {
    const { engine, clock } = quiet({ nodes: 1, cpusPerNode: 4 });
    const big = engine.submit({ cpus: 4, durationS: 60 });
    step(engine, clock, 1000);
    const waiting = engine.submit({ cpus: 2, durationS: 60 });
    step(engine, clock, 1000);
    expect(engine.job(waiting)).toMatchObject({ state: 'PENDING', stateReason: 'Resources' });
    step(engine, clock, 60_000);
    expect(engine.job(big)?.state).toBe('COMPLETED');
    expect(engine.job(waiting)?.state).toBe('RUNNING');
  });

  it('purges finished jobs after MinJobAge and moves last_update', () => {
    const { engine, clock } = quiet({ minJobAgeS: 120 });
    const id = engine.submit({ cpus: 1, durationS: 10 });
    step(engine, clock, 1000);
    step(engine, clock, 10_000);
    expect(engine.job(id)?.state).toBe('COMPLETED');
    step(engine, clock, 100_000);
    expect(engine.job(id)).toBeDefined();
    const before = engine.lastUpdate.jobs;
    step(engine, clock, 30_000);
    expect(engine.job(id)).toBeUndefined();
    expect(engine.lastUpdate.jobs).toBeGreaterThan(before);
  });

  it('does not move last_update when nothing changes', () => {
    const { engine, clock } = quiet();
    step(engine, clock, 5000);
    const snap = { ...engine.lastUpdate };
    for (let i = 0; i < 10; i++) step(engine, clock, 5000);
    expect(engine.lastUpdate).toEqual(snap);
    engine.drain('cn002', 'x');
    expect(engine.lastUpdate.nodes).toBeGreaterThan(snap.nodes);
    expect(engine.lastUpdate.partitions).toBe(snap.partitions);
    expect(engine.lastUpdate.jobs).toBe(snap.jobs);
  });

  it('fails nodes (DOWN with a reason, their jobs NODE_FAIL) and brings them back', () => {
    const { engine, clock } = quiet({ nodes: 4 });
    const ids = [1, 2, 3, 4].map(() => engine.submit({ cpus: 8, durationS: 3600, timeLimitMin: 120 }));
    step(engine, clock, 1000);
    expect(ids.every((id) => engine.job(id)?.state === 'RUNNING')).toBe(true);
    engine.setRates({ nodeFailurePerHour: 3600 });
    for (let i = 0; i < 30 && !engine.nodes.some((n) => n.down); i++) step(engine, clock, 1000);
    engine.setRates({ nodeFailurePerHour: 0 });
    const down = engine.nodes.find((n) => n.down)!;
    expect(down).toBeDefined();
    expect(down.reason).not.toBe('');
    expect(down.reasonSetBy).toBe('slurm');
    expect(engine.nodeState(down).base).toBe('DOWN');
    const victim = engine.job(down.coreOwner[0] || ids.find((id) => engine.job(id)?.alloc[0].node === down.index)!)!;
    expect(victim).toMatchObject({ state: 'NODE_FAIL', stateReason: 'NodeDown' });
    expect(down.allocCpus).toBe(0);
    // failed nodes come back within 30 min
    for (let i = 0; i < 31; i++) step(engine, clock, 60_000);
    expect(engine.nodes.filter((n) => n.down)).toHaveLength(0);
  });

  it('runs array tasks within the %limit and turns the last task into the record itself', () => {
    const { engine, clock } = quiet({ nodes: 2 });
    const id = engine.submit({ cpus: 1, durationS: 30, array: { first: 1, last: 5, max: 2 } });
    step(engine, clock, 1000);
    const rec = engine.job(id)!;
    expect(engine.arrayTaskString(rec)).toBe('3-5%2');
    expect(rec.state).toBe('PENDING');
    step(engine, clock, 1000);
    expect(rec.stateReason).toBe('JobArrayTaskLimit');
    const tasks = [...engine.jobs()].filter((j) => j.arrayJobId === id && j.id !== id);
    expect(tasks.map((t) => t.arrayTaskId)).toEqual([1, 2]);
    expect(tasks.every((t) => t.state === 'RUNNING')).toBe(true);
    for (let i = 0; i < 10; i++) step(engine, clock, 30_000);
    expect(rec.arrayTaskId).toBe(5);
    expect(engine.arrayTaskString(rec)).toBe('');
    const all = [...engine.jobs()].filter((j) => j.arrayJobId === id);
    expect(all.map((t) => t.arrayTaskId).sort()).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('SimEngine: commands', () => {
  it('cancels pending and running jobs and refuses finished and unknown ones', () => {
    const { engine, clock } = quiet();
    const run = engine.submit({ cpus: 8, durationS: 600 });
    step(engine, clock, 1000);
    expect(engine.job(run)?.state).toBe('RUNNING');
    const pend = engine.submit({ cpus: 8, durationS: 600, hold: true });
    engine.command({ kind: 'cancel', target: String(run) });
    expect(engine.job(run)).toMatchObject({ state: 'CANCELLED', exitSignal: 15 });
    expect(engine.nodes.reduce((n, node) => n + node.allocCpus, 0)).toBe(0);
    engine.cancel(pend);
    expect(engine.job(pend)?.state).toBe('CANCELLED');
    expect(commandError(() => engine.cancel(run)).errno).toBe(2021);
    expect(commandError(() => engine.cancel(999_999)).errno).toBe(2017);
    expect(commandError(() => engine.command({ kind: 'cancel', target: 'abc' })).errno).toBe(2017);
  });

  it('holds (priority 0, JobHeldUser) and releases', () => {
    const { engine, clock } = quiet();
    const id = engine.submit({ cpus: 1, durationS: 60 });
    engine.command({ kind: 'hold', target: String(id) });
    expect(engine.job(id)).toMatchObject({ state: 'PENDING', priority: 0, stateReason: 'JobHeldUser', held: 'user' });
    step(engine, clock, 5000);
    expect(engine.job(id)?.state).toBe('PENDING');
    engine.command({ kind: 'release', target: String(id) });
    expect(engine.job(id)?.priority).toBeGreaterThan(0);
    step(engine, clock, 1000);
    expect(engine.job(id)?.state).toBe('RUNNING');
    expect(commandError(() => engine.hold(id)).errno).toBe(2073);
    engine.setPriority(engine.submit({ cpus: 1 }), 0);
    expect([...engine.jobs()].some((j) => j.stateReason === 'JobHeldAdmin')).toBe(true);
  });

  it('requeues a running job: PENDING (BeginTime), restart count, then it runs again', () => {
    const { engine, clock } = quiet();
    const id = engine.submit({ cpus: 4, durationS: 600 });
    step(engine, clock, 1000);
    engine.command({ kind: 'requeue', target: String(id) });
    expect(engine.job(id)).toMatchObject({ state: 'PENDING', stateReason: 'BeginTime', restartCount: 1, alloc: [] });
    expect(engine.nodes.reduce((n, node) => n + node.allocCpus, 0)).toBe(0);
    expect(commandError(() => engine.requeue(id)).errno).toBe(2024);
    step(engine, clock, 6000);
    expect(engine.job(id)?.state).toBe('RUNNING');
  });

  it('drains (DRAIN flag, reason, no new work) and resumes nodes', () => {
    const { engine, clock } = quiet({ nodes: 1 });
    engine.command({ kind: 'drain', target: 'cn001', reason: 'bad fan' });
    const node = engine.node('cn001')!;
    expect(engine.nodeState(node)).toEqual({ base: 'IDLE', flags: ['DRAIN'] });
    expect(node).toMatchObject({ reason: 'bad fan', reasonSetBy: 'root' });
    const id = engine.submit({ cpus: 1, durationS: 60 });
    step(engine, clock, 1000);
    expect(engine.job(id)?.state).toBe('PENDING');
    engine.command({ kind: 'resume', target: 'cn001' });
    expect(engine.nodeState(node)).toEqual({ base: 'IDLE', flags: [] });
    expect(node.reason).toBe('');
    step(engine, clock, 1000);
    expect(engine.job(id)?.state).toBe('RUNNING');
    expect(engine.nodeState(node).base).toBe('MIXED');
    expect(commandError(() => engine.drain('nope', 'x')).errno).toBe(2018);
  });

  it('refuses submissions Slurm would refuse', () => {
    const { engine } = quiet();
    expect(commandError(() => engine.submit({ partition: 'gpu' })).errno).toBe(2000);
    expect(commandError(() => engine.submit({ user: 'bob', account: 'chem' })).errno).toBe(2045);
    expect(commandError(() => engine.submit({ qos: 'premium' })).errno).toBe(2066);
    expect(commandError(() => engine.submit({ cpus: 1000 })).errno).toBe(2069);
  });

  it('rejects bad options with one message naming each problem', () => {
    const clock = fakeClock();
    expect(() => new SimEngine({ cluster: 'x y', nodes: 0, jobs: -1 }, { clock })).toThrow(/cluster name.*nodes must be.*jobs must be/);
  });
});

describe('SimEngine: scale', () => {
  // What a tick costs is measured by the sim-scale benchmark (scripts/bench/suites/sim-scale.ts),
  // not here: this checks that a cluster of that size is built as asked and keeps living.
  it('builds 10k nodes and 100k jobs and keeps them consistent while ticking', () => {
    const clock = fakeClock();
    const engine = new SimEngine({ cluster: 'big', nodes: 10_000, jobs: 100_000, seed: 5, nodeFailurePerHour: 5 }, { clock });
    expect(engine.jobCount).toBeGreaterThanOrEqual(100_000);
    const model = toClusterModel(engine, { slurmVersion: '24.05.3', apiVersion: 'v0.0.41', controllerHost: 'ctl' });
    expect(model.node).toHaveLength(10_000);
    let finished = 0;
    for (let i = 0; i < 20; i++) finished += step(engine, clock, 1000).finished;
    expect(finished).toBeGreaterThan(0);
    // No node holds more CPUs than it has, whatever started and ended.
    const after = toClusterModel(engine, { slurmVersion: '24.05.3', apiVersion: 'v0.0.41', controllerHost: 'ctl' });
    expect(after.node.filter((n) => (n.alloc_cpus ?? 0) > (n.cpus ?? 0))).toEqual([]);
  });
});
