import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SlurmResponseError } from '../../shared/errors/index.js';
import { adapterFor } from './index.js';

const load = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`./testdata/v0.0.38/${name}`, import.meta.url), 'utf8'));
const a = adapterFor('v0.0.38');

describe('v0.0.38 jobs (flat numbers, one state string, raw wait status)', () => {
  const jobs = a.jobs(load('jobs.json'), 'prod-a');
  const byId = new Map(jobs.map((j) => [j.id, j]));

  it('keeps every record and sets the cluster on each', () => {
    expect(jobs).toHaveLength(9);
    expect(jobs.every((j) => j.cluster === 'prod-a')).toBe(true);
  });

  it('normalizes a running job: ISO times, seconds, MB, expanded nodes', () => {
    expect(byId.get(101)).toEqual({
      cluster: 'prod-a',
      id: 101,
      array_job_id: undefined,
      array_task_id: undefined,
      array_task_string: undefined,
      het_job_id: undefined,
      het_job_offset: undefined,
      name: 'train',
      user: 'alice',
      account: 'research',
      partition: 'debug',
      qos: 'normal',
      state: 'RUNNING',
      state_flags: [],
      state_reason: 'None',
      nodes: ['node1', 'node2'],
      node_list: 'node[1-2]',
      submit_time: '2023-11-14T22:13:20Z',
      start_time: '2023-11-14T22:23:20Z',
      end_time: '2023-11-14T23:13:20Z',
      exit_code: 0,
      exit_signal: undefined,
      cpus: 4,
      node_count: 2,
      memory_mb: 2000, // 500 MB per CPU x 4 CPUs
      time_limit_s: 600, // 10 minutes
      priority: 2012,
      working_dir: '/home/alice',
      comment: 'nightly',
      tres: 'cpu=4,mem=2000M,node=2,billing=4',
    });
  });

  it('decodes the raw wait status: 768 is exit code 3, 15 is SIGTERM', () => {
    expect(byId.get(102)).toMatchObject({ state: 'FAILED', exit_code: 3, exit_signal: undefined, memory_mb: 2048 });
    expect(byId.get(103)).toMatchObject({ state: 'CANCELLED', exit_code: undefined, exit_signal: 15 });
  });

  it('treats INFINITE (4294967295) and null as unset', () => {
    expect(byId.get(103)?.time_limit_s).toBeUndefined();
    expect(byId.get(103)?.priority).toBeUndefined();
  });

  it('keeps the flag Slurm shows instead of a base state; CONFIGURING implies RUNNING', () => {
    expect(byId.get(104)).toMatchObject({ state: 'COMPLETING', state_flags: ['COMPLETING'] });
    expect(byId.get(105)).toMatchObject({ state: 'RUNNING', state_flags: ['CONFIGURING'] });
  });

  it('a pending compact array record has its task string and no task id', () => {
    expect(byId.get(200)).toMatchObject({
      state: 'PENDING',
      array_job_id: 200,
      array_task_id: undefined,
      array_task_string: '1-1000%4',
      nodes: [],
      node_list: '',
      start_time: undefined,
      end_time: undefined,
      priority: 0,
    });
  });

  it('an array task has its array id and task id', () => {
    expect(byId.get(203)).toMatchObject({ array_job_id: 200, array_task_id: 3, array_task_string: undefined });
  });

  it('a het job component has het_job_id and its offset', () => {
    expect(byId.get(301)).toMatchObject({ het_job_id: 300, het_job_offset: 1 });
    expect(byId.get(101)?.het_job_id).toBeUndefined();
  });

  it('a record with only id and state still normalizes with empty optional fields', () => {
    expect(byId.get(400)).toMatchObject({
      state: 'PENDING',
      name: '',
      nodes: [],
      cpus: 0,
      memory_mb: undefined,
      exit_code: undefined,
      submit_time: undefined,
      tres: '',
    });
  });

  it('a job without job_id fails the response, naming version, kind and index', () => {
    const body = load('job-missing-id.json');
    expect(() => a.jobs(body, 'prod-a')).toThrow(SlurmResponseError);
    expect(() => a.jobs(body, 'prod-a')).toThrow('slurmrestd v0.0.38 job[1]: missing "job_id"');
  });

  it('a body without a jobs list is an error; an empty list is not', () => {
    expect(() => a.jobs({ meta: {} }, 'c')).toThrow('slurmrestd v0.0.38 job response has no "jobs" list');
    expect(() => a.jobs('nope', 'c')).toThrow(SlurmResponseError);
    expect(a.jobs({ jobs: [] }, 'c')).toEqual([]);
  });
});

describe('v0.0.38 nodes (lower-case state + state_flags)', () => {
  const nodes = a.nodes(load('nodes.json'), 'prod-a');

  it('upper-cases the base state and keeps flags apart', () => {
    expect(nodes.map((n) => [n.name, n.state, n.flags])).toEqual([
      ['node1', 'ALLOCATED', []],
      ['node4', 'MIXED', ['DRAIN']],
      ['node5', 'DOWN', ['NOT_RESPONDING']],
    ]);
  });

  it('reports cpu_load as the real load (Slurm sends load*100) and memory in MB', () => {
    expect(nodes[0]).toMatchObject({
      cpus: 4,
      alloc_cpus: 4,
      memory_mb: 8000,
      alloc_memory_mb: 1400,
      free_memory_mb: 21089,
      cpu_load: 0.47,
      features: ['feat_a', 'gpu'],
      partitions: ['debug', 'batch'],
      boot_time: '2023-11-14T22:13:20Z',
      last_busy: '2023-11-14T22:23:20Z',
      reason_set_by: '',
      reason_time: undefined,
      address: '10.0.0.1',
      hostname: 'n1',
      slurm_version: '22.05.8',
    });
    expect(nodes[1].cpu_load).toBe(1.5);
  });

  it('a drained node carries reason, who set it and when', () => {
    expect(nodes[1]).toMatchObject({ reason: 'maintenance test', reason_set_by: 'root', reason_time: '2023-11-14T23:13:20Z' });
  });

  it('a node that never reported has no load, free memory or boot time (NO_VAL markers)', () => {
    expect(nodes[2]).toMatchObject({ cpu_load: undefined, free_memory_mb: undefined, boot_time: undefined, last_busy: undefined });
  });
});

describe('v0.0.38 partitions, reservations, ping, diag', () => {
  it('partitions: default flag, minutes to seconds, INFINITE (-1) to unset, comma lists', () => {
    const [debug, batch] = a.partitions(load('partitions.json'), 'prod-a');
    expect(debug).toEqual({
      cluster: 'prod-a',
      name: 'debug',
      state: 'UP',
      nodes: ['node1', 'node2'],
      node_list: 'node[1-2]',
      total_cpus: 8,
      total_nodes: 2,
      is_default: true,
      max_time_s: 1800,
      default_time_s: 300,
      allowed_accounts: ['research', 'ops'],
      allowed_qos: [],
      qos: '',
    });
    expect(batch).toMatchObject({ state: 'DRAIN', is_default: false, max_time_s: undefined, default_time_s: undefined });
    expect(batch.allowed_qos).toEqual(['normal', 'high']);
    expect(batch.nodes).toHaveLength(5);
  });

  it('reservations', () => {
    expect(a.reservations(load('reservations.json'), 'prod-a')).toEqual([
      {
        cluster: 'prod-a',
        name: 'maint',
        nodes: ['node3', 'node4'],
        node_list: 'node[3-4]',
        start_time: '2023-11-14T22:13:20Z',
        end_time: '2023-11-14T23:13:20Z',
        users: ['root', 'alice'],
        accounts: [],
        flags: ['MAINT', 'IGNORE_JOBS'],
        partition: 'batch',
        node_count: 2,
        core_count: 8,
      },
    ]);
  });

  it('ping: one entry per controller, UP/DOWN, primary/backup, Slurm release from meta.Slurm', () => {
    const pings = a.ping(load('ping.json'), 'prod-a');
    expect(pings.map((p) => [p.hostname, p.responding, p.mode, p.latency_ms])).toEqual([
      ['ctl1', true, 'primary', undefined],
      ['ctl2', false, 'backup', undefined],
    ]);
    expect(pings[0]).toMatchObject({ cluster: 'prod-a', api_version: 'v0.0.38', slurm_version: '22.05.8' });
  });

  it('diag gives the controller load figures', () => {
    expect(a.diag(load('diag.json'))).toEqual({
      server_thread_count: 3,
      agent_queue_size: 0,
      jobs_running: 7,
      jobs_pending: 13,
      diag: expect.objectContaining({ schedule_cycle_max_us: 2300, jobs_submitted: 0, rpcs_by_type: [{ name: 'REQUEST_PING', count: 6, total_time_us: 0 }], rpcs_by_user: [] }),
    });
    expect(() => a.diag({})).toThrow('slurmrestd v0.0.38 diag response has no "statistics" object');
  });
});

describe('v0.0.38 diag of a real Slurm 22.05.8 (captured from its slurmrestd)', () => {
  it('gives cycle times, job counters and RPCs by type and user, busiest first', () => {
    const { diag } = a.diag(load('diag-22.05.8.json'));
    expect(diag).toMatchObject({
      schedule_cycle_last_us: 15, schedule_cycle_mean_us: 1923, schedule_cycle_max_us: 30387, schedule_cycles: 16,
      backfill_cycles: 0, jobs_submitted: 1, jobs_started: 1, jobs_completed: 1, jobs_canceled: 0, jobs_failed: 0,
    });
    expect(diag!.rpcs_by_type).toHaveLength(11);
    expect(diag!.rpcs_by_type[0]).toEqual({ name: 'MESSAGE_NODE_REGISTRATION_STATUS', count: 12, total_time_us: 5292 });
    expect(diag!.rpcs_by_user).toEqual([{ name: 'root', count: 27, total_time_us: 30521 }, { name: 'slurmrestd', count: 2, total_time_us: 448 }]);
  });
});

describe('dbv0.0.38 (slurmdbd part)', () => {
  it('reads the QOS list under "QOS" as real 22.05 sends it; wall clock minutes to seconds', () => {
    const qos = a.qos(load('slurmdb-qos.json'), 'prod-a');
    expect(qos).toEqual([
      { cluster: 'prod-a', name: 'normal', description: 'Normal QOS default', priority: 0, max_wall_s: undefined, flags: [], preempt_mode: '' },
      { cluster: 'prod-a', name: 'low', description: 'short jobs', priority: 10, max_wall_s: 600, flags: ['DENY_LIMIT'], preempt_mode: 'CANCEL' },
    ]);
  });

  it('accounts list their coordinators by name', () => {
    expect(a.accounts(load('slurmdb-accounts.json'), 'prod-a')).toEqual([
      { cluster: 'prod-a', name: 'research', description: 'test account', organization: 'lab', coordinators: ['alice'] },
    ]);
  });

  it('associations: null user/partition become empty, no id in this version', () => {
    expect(a.associations(load('slurmdb-associations.json'), 'prod-a')).toEqual([
      { cluster: 'prod-a', account: 'research', user: '', partition: '', parent_account: 'root', qos: ['high', 'normal'], default_qos: '', id: undefined },
      { cluster: 'prod-a', account: 'research', user: 'alice', partition: 'debug', parent_account: '', qos: ['normal'], default_qos: 'normal', id: undefined },
    ]);
  });
});
