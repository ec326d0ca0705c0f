import { describe, expect, it } from 'vitest';
import { SimEngine } from '../engine/index.js';
import { SlurmRenderer } from './index.js';

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);

function cluster(over: Record<string, unknown> = {}): SimEngine {
  let t = T0;
  const engine = new SimEngine({ cluster: 'render', nodes: 16, jobs: 80, seed: 9, nodeFailurePerHour: 0, ...over }, { clock: { now: () => t } });
  // make sure every state we render is present: a failed job with exit 3, a timeout, a cancelled one, a held one
  const failed = engine.submit({ user: 'carol', qos: 'high', cpus: 1, durationS: 5, outcome: 'FAILED', exitCode: 3 });
  const timeout = engine.submit({ user: 'dave', qos: 'high', cpus: 1, timeLimitMin: 1, outcome: 'TIMEOUT' });
  engine.submit({ user: 'bob', cpus: 2, hold: true });
  engine.submit({ user: 'erin', qos: 'high', cpus: 1, array: { first: 1, last: 30, max: 2 } });
  for (let i = 0; i < 150; i++) engine.tick((t += 1000));
  expect(engine.job(failed)?.state).toBe('FAILED');
  expect(engine.job(timeout)?.state).toBe('TIMEOUT');
  return engine;
}

const ENGINE = cluster();

function parse(text: string | Iterable<string>): Record<string, any> {
  return JSON.parse(typeof text === 'string' ? text : [...text].join(''));
}

function jobIn(body: Record<string, any>, pred: (j: any) => boolean): any {
  const j = body.jobs.find(pred);
  expect(j, 'a job matching the predicate').toBeDefined();
  return j;
}


// ---- a small OpenAPI 3.0 checker: every key we print must be declared, with the declared type ----

describe('renderers: version-specific shapes', () => {
  const failedId = [...ENGINE.jobs()].find((j) => j.state === 'FAILED' && j.exitCode === 3)!.id;
  const timeoutId = [...ENGINE.jobs()].find((j) => j.state === 'TIMEOUT')!.id;

  it('v0.0.38: flat numbers, string states, raw wait status, meta.Slurm', () => {
    const r = new SlurmRenderer(ENGINE, 'v0.0.38');
    const body = parse(r.jobs());
    expect(body.meta.Slurm.release).toBe('22.05.8');
    expect(body).not.toHaveProperty('warnings');
    expect(body).not.toHaveProperty('last_update');
    const failed = jobIn(body, (j) => j.job_id === failedId);
    expect(failed).toMatchObject({ job_state: 'FAILED', exit_code: 768, state_reason: 'NonZeroExitCode' });
    expect(typeof failed.priority).toBe('number');
    expect(jobIn(body, (j) => j.job_id === timeoutId).exit_code).toBe(15);
    const held = jobIn(body, (j) => j.state_reason === 'JobHeldUser');
    expect(held.priority).toBe(0);
    const array = jobIn(body, (j) => j.array_task_string !== '');
    expect(array.array_task_id).toBeNull();
    expect(array.array_job_id).toBe(array.job_id);
    const nodes = parse(r.nodes()).nodes;
    expect(nodes.every((n: any) => ['idle', 'mixed', 'allocated', 'down'].includes(n.state))).toBe(true);
    expect(nodes.some((n: any) => n.state_flags.includes('DRAIN'))).toBe(true);
    expect(parse(r.qos())).toHaveProperty('QOS');
  });

  it('v0.0.39: number objects, string job_state, raw exit status, meta.Slurm', () => {
    const body = parse(new SlurmRenderer(ENGINE, 'v0.0.39').jobs());
    expect(body.meta).toHaveProperty('Slurm');
    expect(body.meta).not.toHaveProperty('slurm');
    const failed = jobIn(body, (j) => j.job_id === failedId);
    expect(failed.job_state).toBe('FAILED');
    expect(failed.exit_code).toEqual({ set: true, infinite: false, number: 768 });
    expect(failed.priority).toMatchObject({ set: true, infinite: false });
    expect(typeof failed.end_time).toBe('number');
    const nodes = parse(new SlurmRenderer(ENGINE, 'v0.0.39').nodes()).nodes;
    expect(nodes.some((n: any) => n.state.join('+') === 'IDLE+DRAIN' || n.state.join('+') === 'MIXED+DRAIN' || n.state.join('+') === 'ALLOCATED+DRAIN')).toBe(true);
  });

  for (const v of ['v0.0.40', 'v0.0.41', 'v0.0.42', 'v0.0.43', 'v0.0.44'] as const) {
    it(`${v}: job_state arrays, verbose exit codes, time objects, meta.slurm, last_update`, () => {
      const body = parse(new SlurmRenderer(ENGINE, v).jobs());
      expect(body.meta.slurm.release).toMatch(/^\d\d\.\d\d\.\d+$/);
      expect(body.meta.plugin.data_parser).toBe(`data_parser/${v}`);
      expect(body.last_update).toEqual({ set: true, infinite: false, number: ENGINE.lastUpdate.jobs });
      const failed = jobIn(body, (j) => j.job_id === failedId);
      expect(failed.job_state).toEqual(['FAILED']);
      expect(failed.exit_code).toMatchObject({ status: ['ERROR'], return_code: { set: true, number: 3 } });
      expect(failed.end_time).toMatchObject({ set: true });
      const timeout = jobIn(body, (j) => j.job_id === timeoutId);
      expect(timeout.exit_code).toMatchObject({ status: ['SIGNALED'], signal: { id: { set: true, number: 15 }, name: 'TERM' } });
      const pending = jobIn(body, (j) => j.job_state[0] === 'PENDING');
      expect(pending.job_resources).toEqual(v === 'v0.0.40' ? {} : null);
      const running = jobIn(body, (j) => j.job_state[0] === 'RUNNING');
      if (v === 'v0.0.40') expect(running.job_resources.allocated_hosts).toBe(running.node_count.number);
      else expect(running.job_resources.nodes.count).toBe(running.node_count.number);
    });
  }

  it('streams byte-identical pretty JSON (2-space indent) and ~3.1 KB per job at v0.0.38', () => {
    const r = new SlurmRenderer(ENGINE, 'v0.0.38');
    const text = [...r.jobs()].join('');
    expect(text).toBe(JSON.stringify(JSON.parse(text), null, 2));
    const perJob = Buffer.byteLength(text) / ENGINE.jobCount;
    expect(perJob).toBeGreaterThan(2600);
    expect(perJob).toBeLessThan(4000);
    const empty = new SimEngine({ cluster: 'e', nodes: 1, jobs: 0, arrivalPerMin: 0 }, { clock: { now: () => T0 } });
    const none = [...new SlurmRenderer(empty, 'v0.0.41').jobs()].join('');
    expect(JSON.parse(none).jobs).toEqual([]);
    expect(none).toBe(JSON.stringify(JSON.parse(none), null, 2));
  });
});
