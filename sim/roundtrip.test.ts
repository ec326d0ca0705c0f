// The simulator's proof of fidelity: sim model → render(version) → the agent's own adapter (and,
// over HTTP, the agent's RestSource) gives back the same objects, for every API version.
import { afterEach, describe, expect, it } from 'vitest';
import { API_VERSIONS, SimEngine, SlurmRenderer, startSimulator, toClusterModel, type ApiVersion, type RunningSimulator } from './index.js';
import { versionInfo } from './render/index.js';

// The agent's parts are another engineer's folder: use them when they are there.
import * as normalize from '../agent/normalize/index.js';
import * as source from '../agent/source/index.js';

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);

/** Fields a version's payload cannot carry (so its adapter cannot give them back). */
function notExpressible(v: ApiVersion): Set<string> {
  // Controller load and observation time come from diag and the poll itself, not from ping.
  const skip = new Set(['controller.observed_at', 'controller.jobs_running', 'controller.jobs_pending', 'controller.latency_ms', 'controller.endpoint']);
  const n = versionInfo(v).n;
  if (n === 38) ['association.id', 'qos.preempt_mode'].forEach((f) => skip.add(f)); // no ids; 22.05 prints preempt.mode []
  if (n === 39) ['association.id', 'partition.state'].forEach((f) => skip.add(f)); // not in v0.0.39's records
  if (n >= 39) skip.add('partition.is_default'); // v0.0.39+ partitions carry no default flag
  return skip;
}

type Keyed = Record<string, unknown>;

function compare(kind: string, want: Keyed[], got: Keyed[], key: (x: Keyed) => string, skip: Set<string>): string[] {
  const diffs: string[] = [];
  if (want.length !== got.length) diffs.push(`${kind}: ${want.length} expected, ${got.length} read back`);
  const byKey = new Map(got.map((g) => [key(g), g]));
  for (const w of want) {
    const g = byKey.get(key(w));
    if (!g) {
      diffs.push(`${kind} ${key(w)}: missing`);
      continue;
    }
    for (const f of Object.keys(w)) {
      if (skip.has(`${kind}.${f}`)) continue;
      if (JSON.stringify(w[f]) !== JSON.stringify(g[f])) diffs.push(`${kind} ${key(w)} ${f}: want ${JSON.stringify(w[f])} got ${JSON.stringify(g[f])}`);
    }
  }
  return diffs.slice(0, 20);
}

function busyCluster(): SimEngine {
  let t = T0;
  const e = new SimEngine({ cluster: 'rt', nodes: 16, jobs: 150, seed: 4, nodeFailurePerHour: 30 }, { clock: { now: () => t } });
  e.submit({ qos: 'high', cpus: 1, durationS: 5, outcome: 'FAILED', exitCode: 3 });
  e.submit({ qos: 'high', cpus: 1, timeLimitMin: 1, outcome: 'TIMEOUT' });
  e.submit({ qos: 'high', cpus: 1, array: { first: 1, last: 20, max: 3 } });
  e.submit({ user: 'bob', cpus: 2, hold: true });
  for (let i = 0; i < 120; i++) e.tick((t += 1000));
  e.cancel(e.submit({ user: 'judy', cpus: 1 }));
  e.drain(e.nodes[2].name, 'fan failure');
  e.down(e.nodes[3].name, 'PSU');
  return e;
}

describe('round trip: sim → render(version) → agent adapter', () => {
  const engine = busyCluster();
  const states = new Set([...engine.jobs()].map((j) => j.state));
  it('covers every job state the simulator produces', () => {
    for (const s of ['PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'TIMEOUT', 'CANCELLED']) expect(states, s).toContain(s);
  });

  for (const v of API_VERSIONS) {
    it(`${v}: jobs, nodes, partitions, reservations, QOS, accounts, associations, ping, diag`, () => {
      const a = normalize.adapterFor(v);
      const info = versionInfo(v);
      const model = toClusterModel(engine, { slurmVersion: info.release, apiVersion: v, controllerHost: 'rt-ctl' });
      const r = new SlurmRenderer(engine, v);
      const skip = notExpressible(v);
      const read = (text: string | Iterable<string>) => JSON.parse(typeof text === 'string' ? text : [...text].join(''));
      const diffs = [
        ...compare('job', model.job as never, a.jobs(read(r.jobs()), 'rt') as never, (x) => String(x.id), skip),
        ...compare('node', model.node as never, a.nodes(read(r.nodes()), 'rt') as never, (x) => String(x.name), skip),
        ...compare('partition', model.partition as never, a.partitions(read(r.partitions()), 'rt') as never, (x) => String(x.name), skip),
        ...compare('reservation', model.reservation as never, a.reservations(read(r.reservations()), 'rt') as never, (x) => String(x.name), skip),
        ...compare('qos', model.qos as never, a.qos(read(r.qos()), 'rt') as never, (x) => String(x.name), skip),
        ...compare('account', model.account as never, a.accounts(read(r.accounts()), 'rt') as never, (x) => String(x.name), skip),
        ...compare('association', model.association as never, a.associations(read(r.associations()), 'rt') as never, (x) => `${x.account}/${x.user}`, skip),
        ...compare('controller', model.controller as never, a.ping(read(r.ping()), 'rt') as never, (x) => String(x.hostname), skip),
      ];
      expect(diffs).toEqual([]);
      // single-object endpoints read back the same record
      const job = engine.jobs().next().value!;
      expect(a.jobs(read(r.job(job)), 'rt')[0]).toEqual(model.job.find((j) => j.id === job.id));
      expect(a.diag(read(r.diag()))).toMatchObject({ jobs_running: engine.countByState('RUNNING'), jobs_pending: engine.countByState('PENDING') });
    });
  }
});

describe('the agent’s RestSource against a running simulator', () => {
  const started: RunningSimulator[] = [];
  afterEach(async () => {
    await Promise.allSettled(started.splice(0).map((s) => s.close()));
  });

  for (const v of ['v0.0.38', 'v0.0.41', 'v0.0.44'] as const) {
    it(`${v}: negotiates, polls (then 304s), and runs every command kind`, async () => {
      let t = T0;
      const clock = { now: () => t };
      const sim = await startSimulator({ listen: '127.0.0.1:0', cluster: 'e2e', nodes: 8, jobs: 60, apiVersion: v, tickMs: 0, arrivalPerMin: 0, nodeFailurePerHour: 0, token: 'sekret', clock, log: () => {} });
      started.push(sim);
      const src = source.createSlurmSource(
        { cluster: 'e2e', slurm: { source: 'rest', endpoints: [sim.url], auth: { user: 'root', token: 'sekret' } } },
        { clock: () => t },
      );
      try {
        const first = await src.poll();
        expect(first.apiVersion).toBe(v);
        const model = toClusterModel(sim.engine, { slurmVersion: versionInfo(v).release, apiVersion: v, controllerHost: 'e2e-ctl' });
        const skip = notExpressible(v);
        expect(compare('job', model.job as never, first.model.job as never, (x) => String(x.id), skip)).toEqual([]);
        expect(compare('node', model.node as never, first.model.node as never, (x) => String(x.name), skip)).toEqual([]);

        // The first poll's update_time is diag's req_time, the second the changes were made in:
        // slurmctld answers in full then (T = last change), and 304 once nothing changed since T.
        t += 2000;
        expect((await src.poll()).unchanged.has('job')).toBe(false);
        t += 2000;
        const quiet = await src.poll();
        expect(quiet.unchanged.has('job')).toBe(true);
        expect(quiet.unchanged.has('partition')).toBe(true);
        if (v !== 'v0.0.38') expect(quiet.unchanged.has('node')).toBe(true);

        const running = [...sim.engine.jobs()].find((j) => j.state === 'RUNNING')!;
        const pending = [...sim.engine.jobs()].find((j) => j.state === 'PENDING' && !j.held && j.arrayJobId === 0)!;
        const node = sim.engine.nodes.find((n) => !n.down && !n.drain)!;
        t += 1000;
        for (const [cmd, check] of [
          [{ kind: 'hold', target: String(pending.id) }, () => expect(sim.engine.job(pending.id)?.stateReason).toBe('JobHeldUser')],
          [{ kind: 'release', target: String(pending.id) }, () => expect(sim.engine.job(pending.id)?.held).toBe('')],
          [{ kind: 'requeue', target: String(running.id) }, () => expect(sim.engine.job(running.id)?.restartCount).toBe(1)],
          [{ kind: 'drain', target: node.name, reason: 'e2e' }, () => expect(sim.engine.node(node.name)?.drain).toBe(true)],
          [{ kind: 'resume', target: node.name }, () => expect(sim.engine.node(node.name)?.drain).toBe(false)],
          [{ kind: 'cancel', target: String(pending.id) }, () => expect(sim.engine.job(pending.id)?.state).toBe('CANCELLED')],
        ] as const) {
          const outcome = await src.execute(cmd as never);
          expect(outcome.ok, `${cmd.kind}: ${outcome.message}`).toBe(true);
          check();
        }
        const refused = await src.execute({ kind: 'hold', target: String(running.id + 100_000) });
        expect(refused.ok).toBe(false);

        // the changes show up in the next poll
        t += 1000;
        const third = await src.poll();
        expect(third.unchanged.has('job')).toBe(false);
        expect(third.model.job.find((j) => j.id === pending.id)?.state).toBe('CANCELLED');
      } finally {
        await src.close();
      }
    });
  }
});
