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
