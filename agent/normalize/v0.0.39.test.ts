import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { adapterFor } from './index.js';

const load = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`./testdata/v0.0.39/${name}`, import.meta.url), 'utf8'));
const a = adapterFor('v0.0.39');

describe('v0.0.39 jobs ({set, infinite, number} counts, flat times, still one state string)', () => {
  const jobs = a.jobs(load('jobs.json'), 'prod-b');
  const byId = new Map(jobs.map((j) => [j.id, j]));

  it('reads number objects and decodes the raw wait status inside them (512 is exit code 2)', () => {
    expect(byId.get(501)).toMatchObject({
      state: 'FAILED',
      exit_code: 2,
      exit_signal: undefined,
      cpus: 8,
      node_count: 2,
      memory_mb: 4096, // memory_per_node wins over memory_per_cpu
      time_limit_s: 3600,
      priority: 4242,
      nodes: ['cn001', 'cn002'],
      submit_time: '2023-11-14T22:13:20Z',
      end_time: '2023-11-14T23:13:20Z',
      tres: 'cpu=8,mem=8G,node=2', // no allocation yet: the request
      array_job_id: undefined,
      het_job_id: undefined,
    });
  });

  it('an infinite time limit and a 0 MB memory request are unset; priority 0 (held) stays 0', () => {
    expect(byId.get(502)).toMatchObject({ time_limit_s: undefined, memory_mb: undefined, priority: 0, exit_code: 0 });
  });

  it('het job leader (offset 0) and an array task shown with a flag state', () => {
    expect(byId.get(601)).toMatchObject({ het_job_id: 601, het_job_offset: 0, array_job_id: undefined });
    expect(byId.get(702)).toMatchObject({ array_job_id: 700, array_task_id: 2, state: 'REQUEUED', state_flags: ['REQUEUED'] });
  });
});

describe('v0.0.39 nodes (state array, free_mem, version)', () => {
  const [drained, down] = a.nodes(load('nodes.json'), 'prod-b');

  it('splits the state array into base state and flags', () => {
    expect([drained.state, drained.flags]).toEqual(['IDLE', ['DRAIN']]);
    expect([down.state, down.flags]).toEqual(['DOWN', ['NOT_RESPONDING']]);
  });

  it('reads the renamed and object-typed fields', () => {
    expect(drained).toMatchObject({
      free_memory_mb: 900,
      cpu_load: 0.36,
      features: ['ib', 'avx512'],
      gres: 'gpu:2',
      slurm_version: '23.02.8',
      reason: 'ECC memory error',
      reason_time: '2023-11-14T23:13:20Z',
      hostname: 'cn051.cluster',
    });
    expect(down).toMatchObject({ free_memory_mb: undefined, cpu_load: undefined, boot_time: undefined });
  });
});

describe('v0.0.39 partitions (nested layout, no state, no default flag)', () => {
  it('reads the nested fields; state stays empty because v0.0.39 does not report it', () => {
    const [batch] = a.partitions(load('partitions.json'), 'prod-b');
    expect(batch).toMatchObject({
      cluster: 'prod-b',
      name: 'batch',
      state: '',
      node_list: 'cn[001-080]',
      total_cpus: 160,
      total_nodes: 80,
      is_default: false,
      max_time_s: undefined,
      default_time_s: 1800,
      allowed_accounts: ['physics', 'biology'],
      allowed_qos: ['normal'],
      qos: 'batchqos',
    });
    expect(batch.nodes).toHaveLength(80);
    expect(batch.nodes[79]).toBe('cn080');
  });
});

describe('v0.0.39 ping, qos, accounts', () => {
  it('ping: pinged "UP" and latency in microseconds to ms', () => {
    expect(a.ping(load('ping.json'), 'prod-b')).toEqual([
      {
        cluster: 'prod-b',
        hostname: 'admin.emulator',
        responding: true,
        mode: 'primary',
        latency_ms: 1.718,
        api_version: 'v0.0.39',
        slurm_version: '23.02.8',
        observed_at: undefined,
        server_thread_count: undefined,
        agent_queue_size: undefined,
        jobs_running: undefined,
        jobs_pending: undefined,
        endpoint: undefined,
      },
    ]);
  });

  it('qos under "qos" with object numbers: 2880 minutes is 2 days', () => {
    expect(a.qos(load('slurmdb-qos.json'), 'prod-b')).toEqual([
      { cluster: 'prod-b', name: 'critical', description: 'critical jobs', priority: 200, max_wall_s: 172800, flags: [], preempt_mode: 'DISABLED' },
    ]);
  });

  it('coordinators with boolean "direct"', () => {
    expect(a.accounts(load('slurmdb-accounts.json'), 'prod-b')[0].coordinators).toEqual(['dshaw', 'cgross']);
  });
});
