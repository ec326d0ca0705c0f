import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ManualClock } from '../../shared/clock/index.js';
import { parseConfigText } from '../../shared/config/index.js';
import { jobDelta, testJob } from '../../shared/delta/testdata/fleet-fixtures.js';
import { silentLogger } from '../../shared/logging/index.js';
import { checkSubmitSpec } from '../../shared/submit/index.js';
import { FleetState } from '../fleet/index.js';
import { multiTenancyConfigSchema, Tenancy } from '../tenancy/index.js';
import { requestOf } from './admission.js';
import { SharedAdmission } from './shared-admission.js';

const tenancy = new Tenancy(
  parseConfigText(
    z.object({ multi_tenancy: multiTenancyConfigSchema }).strict(),
    `multi_tenancy:
  enabled: true
  tenants:
    research: { clusters: [c1], accounts: [research], resources: { max_jobs: 4 } }
`,
    'hub.yaml',
  ).multi_tenancy!,
);

/** A hub of the group as it reads reservations: what one still holds needs its fleet state only (no etcd call). */
function hub(state: FleetState): SharedAdmission {
  return new SharedAdmission(
    { ns: undefined as never, region: 'r1', hubId: 'hub-1', lease: () => undefined, tenancy, state, clock: new ManualClock(0), logger: silentLogger() },
    { ttlMs: 60_000, callTimeoutMs: 1_000 },
  );
}

// Another hub's reservation of a 3-task array, as etcd holds it, once Slurm took it as job 100.
const KEY = 'admission/r1/held/research/6f1c0d1e-reservation';
const held = (more: object = {}) => ({
  hub: 'hub-2',
  cluster: 'c1',
  account: 'research',
  user: 'carol',
  request: requestOf(checkSubmitSpec({ wrap: 'true', account: 'research', array: '1-3' })),
  array: true,
  job_id: '100',
  ...more,
});
const pending = () => testJob(100, { cluster: 'c1', account: 'research', user: 'carol', state: 'PENDING', array_job_id: 100, array_task_string: '1-3' });

describe("a hub group's array reservation", () => {
  it('is not counted again once its tasks showed and then, finished, left the fleet state', () => {
    const state = new FleetState();
    state.apply(jobDelta([], { cluster: 'c1', snapshot: true }));
    const a = hub(state);
    expect(a.left(KEY, held())?.request.jobs).toBe(3); // nothing of it shows yet
    state.apply(jobDelta([pending()], { cluster: 'c1', seq: 2 }));
    expect(a.left(KEY, held())).toBeUndefined(); // its three tasks show: counted by the state, not twice
    // The tasks ran and ended; Slurm purged them, so they leave the state. They were seen: the
    // reservation must not hold three jobs again (which would refuse submits that fit the quota).
    state.apply(jobDelta([], { cluster: 'c1', seq: 3, removedJobs: [100] }));
    expect(a.left(KEY, held())).toBeUndefined();
  });

  it('goes by what its own hub wrote it saw, on a hub that was not looking while the tasks showed', () => {
    const state = new FleetState();
    state.apply(jobDelta([], { cluster: 'c1', snapshot: true }));
    const b = hub(state); // never read the reservation while its tasks showed
    expect(b.left(KEY, held({ shown: 3 }))).toBeUndefined();
    expect(b.left(KEY.replace('reservation', 'other'), held({ shown: 1 }))?.request.jobs).toBe(2);
  });
});
