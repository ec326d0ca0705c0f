import { describe, expect, it } from 'vitest';
import type { Delta } from '../../shared/delta/index.js';
import { jobDelta, testJob } from '../../shared/delta/testdata/fleet-fixtures.js';
import type { Job } from '../../shared/model/index.js';
import { FleetState } from '../fleet/index.js';
import { Visibility, Rbac, rbacConfigSchema, type Principal } from '../policy/index.js';
import { watchVisibility } from './watch-access.js';
import { WatchFeed, type WatchEvent } from './watch-feed.js';

const job = (id: number, account: string): Job => testJob(id, { account });
const delta = (seq: number, jobs: Job[], removals: number[] = []): Delta => jobDelta(jobs, { seq, removedJobs: removals });

const rbac = new Rbac(rbacConfigSchema.parse({ roles: { pm: { permissions: ['jobs:read', 'watch:read'], filters: { account: '${user.project}' } } } }));
const tenant = (project: string): Principal => ({ name: project, method: 'token', role: 'service', groups: [], attributes: { project }, roles: ['pm'] });

describe('watch streams under RBAC row filters', () => {
  it('a tenant hears its own jobs; a job moved to another account reaches it as a remove; removals only of what it could see', () => {
    const state = new FleetState();
    const feed = new WatchFeed(state);
    const heard: Record<string, string[]> = { research: [], physics: [] };
    for (const project of ['research', 'physics']) {
      feed.subscribe({ visible: watchVisibility(new Visibility(rbac, tenant(project))) }, undefined, (e: WatchEvent) => heard[project].push(`${e.type} ${e.object_id}`));
    }
    state.apply(delta(1, [job(1, 'research'), job(2, 'physics')]));
    state.apply(delta(2, [job(1, 'physics')]));
    state.apply(delta(3, [job(2, 'physics')]));
    state.apply(delta(4, [], [2]));
    expect(heard.research).toEqual(['upsert 1', 'remove 1']);
    expect(heard.physics).toEqual(['upsert 2', 'upsert 1', 'upsert 2', 'remove 2']);
  });

  it('a caller without read on jobs hears no job at all', () => {
    const state = new FleetState();
    const feed = new WatchFeed(state);
    const heard: WatchEvent[] = [];
    const noJobs = new Rbac(rbacConfigSchema.parse({ roles: { w: { permissions: ['watch:read'] } } }));
    feed.subscribe({ visible: watchVisibility(new Visibility(noJobs, { ...tenant('x'), roles: ['w'] })) }, undefined, (e) => heard.push(e));
    state.apply(delta(1, [job(1, 'research')]));
    expect(heard).toEqual([]);
  });
});

describe('watch scope: what an open watch compares when it re-checks', () => {
  it('changes when a reload narrows the caller\'s clusters, not when it changes someone else\'s binding', async () => {
    const { watchScope } = await import('./watch-access.js');
    const policy = (clusters: string[], extra: { user: string; role: string }[] = []) => rbacConfigSchema.parse({ roles: { ops: { permissions: ['jobs:read', 'nodes:read', 'cluster:read', 'watch:read'], filters: { cluster: clusters } } }, bindings: [{ user: 'carol', role: 'ops' }, ...extra] });
    const live = new Rbac(policy(['a', 'b']));
    const carol: Principal = { name: 'carol', method: 'oidc', role: 'user', groups: [], attributes: {} };
    const atOpen = watchScope(new Visibility(live, carol));
    live.replace(policy(['a', 'b'], [{ user: 'dave', role: 'ops' }]));
    expect(watchScope(new Visibility(live, carol))).toBe(atOpen);
    live.replace(policy(['a']));
    expect(watchScope(new Visibility(live, carol))).not.toBe(atOpen);
    expect(new Visibility(live, carol).rows('jobs').allows('job', { cluster: 'b' })).toBe(false);
  });
});
