import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../../../shared/errors/index.js';
import type { Principal } from '../authenticate.js';
import { Visibility } from './visibility.js';
import { rbacConfigSchema } from './config.js';
import { Rbac } from './policy.js';

const rbac = new Rbac(rbacConfigSchema.parse({ roles: { pm: { permissions: ['jobs:read', 'nodes:read'], filters: { account: '${user.project}' } } } }));
const pm: Principal = { name: 'bob', method: 'token', role: 'service', groups: [], attributes: { project: 'research' }, roles: ['pm'] };
const peerHub: Principal = { name: 'hub-us', method: 'mtls', role: 'hub', groups: [], attributes: {} };
const job = (account: string) => ({ cluster: 'c', id: 1, account, user: 'u', partition: 'p' });

describe('a global query forwards the caller\'s filters to peer regions', () => {
  it('the peer narrows its unfiltered hub read to what the caller may see, and to nothing it may not read at all', () => {
    const header = new Visibility(rbac, pm).forwardHeader();
    const atPeer = new Visibility(rbac, peerHub, header);
    expect(atPeer.rows('jobs').allows('job', job('research'))).toBe(true);
    expect(atPeer.rows('jobs').allows('job', job('physics'))).toBe(false);
    // pm has no cluster:read: the peer's cluster rows (and so its cluster list) are empty for it.
    expect(atPeer.rows('cluster').allows('cluster', { name: 'c' })).toBe(false);
    // Without the header a hub reads everything (federation of a caller that may).
    expect(new Visibility(rbac, peerHub).rows('jobs').allows('job', job('physics'))).toBe(true);
  });

  it('only hub certificates may send it: anyone else gets their own filters, and a bad header is a 400', () => {
    const wide = Buffer.from(JSON.stringify({ jobs: null })).toString('base64url');
    expect(new Visibility(rbac, pm, wide).rows('jobs').allows('job', job('physics'))).toBe(false);
    expect(() => new Visibility(rbac, peerHub, 'not json')).toThrow(BadRequestError);
    expect(() => new Visibility(rbac, peerHub, Buffer.from(JSON.stringify({ jobs: [{ account: 'x' }] })).toString('base64url'))).toThrow(/not the filters a hub forwards/);
  });
});

describe('a tenant\'s rows cross regions with their region: a cluster is (region, name)', () => {
  const tenant = { name: 'eng', via: 'user ann', clauses: [{ cluster: ['gpu'], account: ['*'] }], regions: [{ region: ['eu-west'], cluster: ['gpu'], account: ['*'] }, { region: ['us-*'], cluster: ['cpu'], account: ['*'] }] };
  const euRbac = new Rbac(undefined, { resolve: (p) => (p.role === 'hub' ? undefined : tenant) }, 'eu-west');
  const ann: Principal = { name: 'ann', method: 'token', role: 'service', groups: [], attributes: {} };
  const at = (region: string): Visibility => new Visibility(new Rbac(undefined, undefined, region), peerHub, new Visibility(euRbac, ann).forwardHeader());

  it('a peer keeps only the clauses that name its region: its own cluster of the same name stays out', () => {
    expect(at('us-east').rows('jobs').allows('job', { ...job('x'), cluster: 'gpu' })).toBe(false);
    expect(at('us-east').rows('jobs').allows('job', { ...job('x'), cluster: 'cpu' })).toBe(true);
    expect(at('ap-south').rows('cluster').allows('cluster', { name: 'gpu' })).toBe(false);
    expect(at('ap-south').rows('cluster').allows('cluster', { name: 'cpu' })).toBe(false);
  });

  it('the merged global answer is narrowed by region too, and the local rows by bare names', () => {
    const v = new Visibility(euRbac, ann);
    expect(v.globalRows('jobs').allows('job', { ...job('x'), cluster: 'gpu', region: 'eu-west' })).toBe(true);
    expect(v.globalRows('jobs').allows('job', { ...job('x'), cluster: 'gpu', region: 'us-east' })).toBe(false);
    expect(v.globalRows('jobs').allows('job', { ...job('x'), cluster: 'cpu', region: 'us-west' })).toBe(true);
    expect(v.rows('jobs').allows('job', { ...job('x'), cluster: 'gpu' })).toBe(true);
  });
});
