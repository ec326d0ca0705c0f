import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { adapterFor } from './index.js';

const load = (path: string): unknown => JSON.parse(readFileSync(new URL(`./testdata/${path}`, import.meta.url), 'utf8'));

describe('v0.0.43 / v0.0.44', () => {
  it('new fields (step_id, submit_line, stdout_expanded...) are ignored', () => {
    for (const version of ['v0.0.43', 'v0.0.44']) {
      const [job] = adapterFor(version).jobs(load('v0.0.44/jobs.json'), 'prod-f');
      expect(job).toEqual({
        cluster: 'prod-f',
        id: 5745,
        array_job_id: undefined,
        array_task_id: undefined,
        array_task_string: undefined,
        het_job_id: undefined,
        het_job_offset: undefined,
        name: 'wrap',
        user: 'vhartman',
        account: 'biology',
        partition: 'normal',
        qos: 'normal',
        state: 'RUNNING',
        state_flags: [],
        state_reason: 'None',
        nodes: ['cn1'],
        node_list: 'cn1',
        submit_time: '2023-11-14T22:13:20Z',
        start_time: '2023-11-14T22:23:20Z',
        end_time: undefined,
        exit_code: 0,
        exit_signal: undefined,
        cpus: 4,
        node_count: 1,
        memory_mb: 2048,
        time_limit_s: 120,
        priority: undefined,
        working_dir: '',
        comment: '',
        tres: '',
      });
    }
  });

  it('a node lookup that found nothing (200, "No error", no nodes key) gives no nodes', () => {
    expect(adapterFor('v0.0.44').nodes(load('v0.0.44/node-unfound.json'), 'prod-f')).toEqual([]);
  });
});
