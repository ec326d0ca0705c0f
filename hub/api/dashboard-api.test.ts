// The API the dashboard needs, through the gate: per-row actions, aggregates under row filters.
import { describe, expect, it } from 'vitest';
import { jobDelta } from '../../shared/delta/testdata/fleet-fixtures.js';
import type { Job } from '../../shared/model/index.js';
import { FleetState } from '../fleet/index.js';
import { Rbac, rbacConfigSchema, Visibility, type Principal } from '../policy/index.js';
import { fleetAggregates, gpusOfGres, gpusOfTres } from './aggregates.js';
import { jobActions } from './allowed-actions.js';

const base = { user: 'u', partition: 'batch', qos: 'normal', state_flags: [], nodes: [], node_list: '', cpus: 2, node_count: 1, working_dir: '', comment: '', name: 'j' };
const JOBS: Job[] = [
  { ...base, cluster: 'c', id: 1, account: 'physics', state: 'RUNNING', state_reason: 'None', tres: 'cpu=2,gres/gpu=2' },
  { ...base, cluster: 'c', id: 2, account: 'physics', state: 'PENDING', state_reason: 'JobHeldUser', tres: '' },
  { ...base, cluster: 'c', id: 3, account: 'research', state: 'PENDING', state_reason: 'Priority', tres: '' },
  { ...base, cluster: 'c', id: 4, account: 'research', state: 'COMPLETED', state_reason: 'None', tres: '' },
];
const state = new FleetState();
state.apply(jobDelta(JOBS, { cluster: 'c', snapshot: true }));

const rbac = new Rbac(rbacConfigSchema.parse({ roles: { pm: { permissions: ['jobs:read,cancel,release', 'cluster:read'], filters: { account: 'physics' } } } }));
const as = (roles: string[]): Visibility => new Visibility(rbac, { name: 'pat', method: 'local', role: 'user', groups: [], attributes: {}, roles } as Principal);

describe('the dashboard API through the gate', () => {
  it('each job carries the commands its caller may run on it in its state', () => {
    const admin = jobActions(as(['admin']));
    expect(JOBS.map((j) => admin(j))).toEqual([['cancel', 'requeue'], ['cancel', 'release'], ['cancel', 'hold'], []]);
    const pm = jobActions(as(['pm']));
    expect(JOBS.map((j) => pm(j))).toEqual([['cancel'], ['cancel', 'release'], [], []]);
    expect(JOBS.map((j) => jobActions(as(['viewer']))(j))).toEqual([[], [], [], []]);
  });

  it('aggregates count only what the caller may read', () => {
    const [all] = fleetAggregates(state, as(['admin']));
    expect(all.jobs_by_state).toEqual({ RUNNING: 1, PENDING: 2, COMPLETED: 1 });
    expect(all.gpus.allocated).toBe(2);
    expect(all.pending_reasons).toEqual([
      { partition: 'batch', reason: 'JobHeldUser', jobs: 1 },
      { partition: 'batch', reason: 'Priority', jobs: 1 },
    ]);
    const [pm] = fleetAggregates(state, as(['pm']));
    expect(pm.jobs_by_state).toEqual({ RUNNING: 1, PENDING: 1 });
    expect(pm.pending_reasons).toEqual([{ partition: 'batch', reason: 'JobHeldUser', jobs: 1 }]);
  });

  it('reads GPUs from GRES and TRES as Slurm writes them', () => {
    expect(gpusOfGres('gpu:a100:4(S:0-1),gpu:2')).toBe(6);
    expect(gpusOfGres('')).toBe(0);
    expect(gpusOfTres('cpu=4,mem=8G,gres/gpu=3')).toBe(3);
    expect(gpusOfTres('cpu=4,gres/gpu:a100=1,gres/gpu:v100=2')).toBe(3);
    expect(gpusOfTres('cpu=4,gres/gpu=2,gres/gpu:a100=2')).toBe(2);
  });
});
