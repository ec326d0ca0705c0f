import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { adapterFor } from './index.js';

const load = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`./testdata/v0.0.40/${name}`, import.meta.url), 'utf8'));
const a = adapterFor('v0.0.40');

describe('v0.0.40 jobs (state arrays, exit code objects, time objects)', () => {
  const jobs = a.jobs(load('jobs.json'), 'prod-c');
  const byId = new Map(jobs.map((j) => [j.id, j]));

  it('a timed-out job: signalled by SIGTERM, no exit code; ISO times from time objects', () => {
    expect(byId.get(776)).toMatchObject({
      state: 'TIMEOUT',
      state_flags: [],
      state_reason: 'TimeLimit',
      exit_code: undefined,
      exit_signal: 15,
      submit_time: '2023-11-14T22:13:20Z',
      start_time: '2023-11-14T22:23:20Z',
      end_time: '2023-11-14T23:13:20Z',
      cpus: 2,
      memory_mb: 1024,
      time_limit_s: 60,
      priority: 90,
      working_dir: '/home/dshaw',
      tres: 'cpu=2,mem=1G,node=1,billing=2', // the allocation once there is one
    });
  });

  it('return_code gives the exit code; a core dump gives the signal', () => {
    expect(byId.get(778)).toMatchObject({ state: 'FAILED', exit_code: 2, exit_signal: undefined });
    expect(byId.get(779)).toMatchObject({ state: 'OUT_OF_MEMORY', exit_code: undefined, exit_signal: 9 });
  });

  it('the base state comes first, other flags go to state_flags', () => {
    expect(byId.get(780)).toMatchObject({ state: 'PENDING', state_flags: ['REQUEUED'], exit_code: undefined, start_time: undefined });
    expect(byId.get(781)).toMatchObject({ state: 'CANCELLED', state_flags: ['COMPLETING'], nodes: ['cn4', 'cn5'] });
  });

  it('odd optional fields do not lose the record', () => {
    expect(byId.get(782)).toMatchObject({
      state: 'RUNNING',
      state_flags: ['CONFIGURING'],
      comment: '',
      priority: undefined,
      time_limit_s: undefined,
      user: '',
      exit_code: undefined,
      cpus: 0,
    });
  });
});

describe('v0.0.40 nodes, partitions, associations', () => {
  it('node: flat cpu_load again (load*100), time objects, several flags', () => {
    expect(a.nodes(load('nodes.json'), 'prod-c')[0]).toMatchObject({
      name: 'gpu1',
      state: 'IDLE',
      flags: ['COMPLETING', 'PLANNED'],
      cpu_load: 1.5,
      memory_mb: 524288,
      free_memory_mb: 654,
      gres: 'gpu:h100:4',
      boot_time: '2023-11-14T22:13:20Z',
      last_busy: '2023-11-14T22:23:20Z',
      reason_time: undefined,
    });
  });

  it('partition state is back as partition.state', () => {
    expect(a.partitions(load('partitions.json'), 'prod-c')[0]).toMatchObject({
      name: 'normal',
      state: 'DRAIN',
      nodes: ['cn1', 'cn2', 'cn3', 'cn4'],
      total_nodes: 4,
      total_cpus: 256,
      max_time_s: 7200,
      default_time_s: undefined,
      allowed_accounts: [],
    });
  });

  it('association id is an object here', () => {
    expect(a.associations(load('slurmdb-associations.json'), 'prod-c')).toEqual([
      { cluster: 'prod-c', account: 'biology', user: 'jbeck', partition: '', parent_account: '', qos: ['normal', 'study'], default_qos: 'study', id: 12 },
    ]);
  });
});
