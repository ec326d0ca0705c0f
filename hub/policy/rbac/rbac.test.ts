import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../shared/config/index.js';
import { ForbiddenError } from '../../../shared/errors/index.js';
import { hubConfigSchema } from '../../config/index.js';
import type { Principal } from '../authenticate.js';
import { rbacConfigSchema } from './config.js';
import { Rbac } from './policy.js';

const ISSUE_EXAMPLE = `
tls: { ca: a, cert: b, key: c }
rbac:
  roles:
    cluster_admin:   { permissions: ["cluster:*", "jobs:*", "nodes:*"] }
    project_manager: { permissions: ["jobs:read,create,cancel", "nodes:read"], filters: { account: "\${user.project}" } }
    readonly_user:   { permissions: ["jobs:read", "nodes:read"] }
  bindings: [ { group: "hpc-admins", role: cluster_admin }, { user: "alice", role: readonly_user }, { group: "pm", role: project_manager } ]
`;

const user = (name: string, extra: Partial<Principal> = {}): Principal => ({ name, method: 'oidc', role: 'user', groups: [], attributes: {}, ...extra });
const rbacOf = (yaml: string): Rbac => new Rbac(parseConfigText(hubConfigSchema, yaml, 'hub.yaml', { env: {} }).rbac);
const configError = (yaml: string): string => {
  try {
    parseConfigText(hubConfigSchema, `tls: { ca: a, cert: b, key: c }\n${yaml}`, 'hub.yaml', { env: {} });
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('config was accepted');
};

describe('rbac: the issue example', () => {
  const rbac = rbacOf(ISSUE_EXAMPLE);

  it('cluster:* grants the cluster-level endpoints to a group member, and nothing outside its resources', () => {
    const admin = user('root', { groups: ['hpc-admins'] });
    const d = rbac.decide(admin, 'clusters:read');
    expect(d).toMatchObject({ allowed: true, permission: 'cluster:read', filters: null, matched: [{ role: 'cluster_admin', via: 'group hpc-admins', permission: 'cluster:*' }] });
    expect(rbac.decide(admin, 'nodes:drain').allowed).toBe(true);
    expect(rbac.decide(admin, 'metrics:read').allowed).toBe(false);
  });

  it('a user binding grants reads only, and the denial says which roles were held', () => {
    const alice = user('alice');
    expect(rbac.decide(alice, 'jobs:read').allowed).toBe(true);
    const d = rbac.decide(alice, 'jobs:cancel');
    expect(d.allowed).toBe(false);
    expect(d.reason).toBe('alice (user) may not cancel jobs: no role it holds grants jobs:cancel (roles: readonly_user via user alice)');
    expect(() => rbac.authorize(alice, 'jobs:cancel')).toThrow(ForbiddenError);
  });

  it('a user binding does not bind a token or certificate of the same name', () => {
    expect(rbac.decide(user('alice', { role: 'service', method: 'token' }), 'jobs:read').allowed).toBe(false);
    expect(rbac.decide(user('alice', { role: 'client', method: 'mtls' }), 'jobs:read').allowed).toBe(false);
  });

  it('filters fill ${user.project}; a missing attribute matches no job, yet nodes (no account) stay visible', () => {
    const pm = user('bob', { groups: ['pm'], attributes: { project: 'research' } });
    const d = rbac.decide(pm, 'jobs:cancel');
    expect(d.filters).toEqual([{ account: ['research'] }]);
    expect(d.reason).toContain('rows where account is research');
    const jobs = rbac.rowFilter(pm, 'jobs');
    expect(jobs.allows('job', { cluster: 'a', account: 'research' })).toBe(true);
    expect(jobs.allows('job', { cluster: 'a', account: 'physics' })).toBe(false);
    const noProject = rbac.rowFilter(user('eve', { groups: ['pm'] }), 'jobs');
    expect(noProject.unrestricted).toBe(false);
    expect(noProject.allows('job', { account: '' })).toBe(false);
    expect(noProject.allows('job', { account: 'research' })).toBe(false);
    expect(rbac.rowFilter(user('eve', { groups: ['pm'] }), 'nodes').allows('node', { cluster: 'a', partitions: ['p'] })).toBe(true);
    expect(rbac.decide(user('eve', { groups: ['pm'] }), 'jobs:read').reason).toContain('account matches nothing');
  });

  it('an unrestricted grant beside a filtered one sees every row', () => {
    const both = user('alice', { groups: ['pm'], attributes: { project: 'research' } });
    expect(rbac.rowFilter(both, 'jobs').unrestricted).toBe(true);
  });

  it('nothing is granted that is not bound once rbac is configured; hub certificates get the internal read role', () => {
    expect(rbac.decide(user('stranger'), 'jobs:read').reason).toContain('no binding names this caller');
    const hub = user('hub-b', { role: 'hub', method: 'mtls' });
    expect(rbac.decide(hub, 'jobs:read')).toMatchObject({ allowed: true, filters: null, matched: [{ role: 'hub_peer' }] });
    expect(rbac.decide(hub, 'jobs:cancel').allowed).toBe(false);
  });

  it('every authenticated caller may ask about itself', () => {
    expect(rbac.decide(user('stranger'), 'auth:self').allowed).toBe(true);
    expect(rbac.decide(user('stranger'), 'auth:impersonate').allowed).toBe(false);
  });
});

describe('rbac: inheritance, wildcards, bindings', () => {
  const rbac = rbacOf(`
tls: { ca: a, cert: b, key: c }
rbac:
  roles:
    reader: { permissions: ["jobs:read", "nodes:read"] }
    tenant: { inherits: [reader], permissions: ["jobs:cancel,hold"], filters: { cluster: [east, west], account: "\${user.project}" } }
    own:    { inherits: [tenant], filters: { cluster: east, user: "\${user.name}" } }
    ops:    { permissions: ["*:read", "nodes:*"] }
  bindings:
    - { client: ops-cert, role: ops }
    - { service: ci, role: tenant }
    - { user: carol, role: own }
`);

  it('an inherited permission carries the filters of the role that inherits it (inheriting never widens)', () => {
    const ci = user('ci', { role: 'service', method: 'token', attributes: { project: 'p1' } });
    const d = rbac.decide(ci, 'nodes:read');
    expect(d.matched).toEqual([{ role: 'tenant', via: 'token ci', permission: 'nodes:read', inherited_from: 'reader', filters: { cluster: ['east', 'west'], account: ['p1'] } }]);
    const nodes = rbac.rowFilter(ci, 'nodes');
    expect(nodes.allows('node', { cluster: 'west' })).toBe(true);
    expect(nodes.allows('node', { cluster: 'north' })).toBe(false);
  });

  it('filters AND along the chain: the same field keeps the values both allow', () => {
    const carol = user('carol', { attributes: { project: 'p1' } });
    const jobs = rbac.rowFilter(carol, 'jobs');
    expect(jobs.toJSON()).toEqual([{ cluster: ['east'], user: ['carol'], account: ['p1'] }]);
    expect(jobs.allows('job', { cluster: 'east', user: 'carol', account: 'p1' })).toBe(true);
    expect(jobs.allows('job', { cluster: 'west', user: 'carol', account: 'p1' })).toBe(false);
    expect(jobs.allows('job', { cluster: 'east', user: 'dave', account: 'p1' })).toBe(false);
    expect(rbac.decide(carol, 'jobs:hold')).toMatchObject({ allowed: true, matched: [{ role: 'own', inherited_from: 'tenant' }] });
    expect(rbac.decide(carol, 'jobs:requeue').allowed).toBe(false);
  });

  it('wildcard resources and verbs, client certificates bound by identity name', () => {
    const ops = user('ops-cert', { role: 'client', method: 'mtls' });
    for (const p of ['cluster:read', 'metrics:read', 'audit:read', 'nodes:drain', 'nodes:resume']) expect(rbac.decide(ops, p).allowed, p).toBe(true);
    expect(rbac.decide(ops, 'jobs:cancel').allowed).toBe(false);
  });

  it("a credential's own roles are grants; an unknown one grants nothing and is named", () => {
    const bound = user('bot', { role: 'service', method: 'token', roles: ['reader', 'ghost'] });
    expect(rbac.decide(bound, 'jobs:read').allowed).toBe(true);
    expect(rbac.decide(bound, 'jobs:cancel').reason).toContain('unknown roles ignored: ghost');
  });
});

describe('rbac: the default without an rbac section', () => {
  const rbac = new Rbac(undefined);
  it('every authenticated caller is an admin; a token bound to roles stays bound', () => {
    expect(rbac.decide(user('anyone'), 'nodes:drain')).toMatchObject({ allowed: true, roles: [{ role: 'admin', via: 'default: no rbac section, every authenticated caller' }] });
    const viewer = user('t', { role: 'service', method: 'token', roles: ['viewer'] });
    expect(rbac.decide(viewer, 'jobs:read').allowed).toBe(true);
    expect(rbac.decide(viewer, 'jobs:cancel').allowed).toBe(false);
    const auditor = user('t', { role: 'service', method: 'token', roles: ['auditor'] });
    expect(rbac.decide(auditor, 'audit:read').allowed).toBe(true);
    expect(rbac.decide(auditor, 'nodes:read')).toMatchObject({ allowed: true, matched: [{ role: 'auditor', inherited_from: 'viewer' }] });
  });
});

describe('rbac config errors name the key', () => {
  it.each([
    ['rbac:\n  roles:\n    r: { permissions: ["jobs"] }\n', 'hub.yaml:4: rbac.roles.r.permissions.0: "jobs": expected "resource:verb[,verb]"'],
    ['rbac:\n  roles:\n    r: { permissions: ["tickets:read"] }\n', 'hub.yaml:4: rbac.roles.r.permissions.0: "tickets:read": unknown resource "tickets"'],
    ['rbac:\n  roles:\n    r: { permissions: ["jobs:READ"] }\n', 'bad verb "READ"'],
    ['rbac:\n  roles:\n    r: { inherits: [nobody] }\n', 'rbac.roles.r.inherits.0: unknown role "nobody"'],
    ['rbac:\n  roles:\n    a: { inherits: [b] }\n    b: { inherits: [a] }\n', 'roles inherit in a cycle: a -> b -> a'],
    ['rbac:\n  bindings: [ { user: x, role: ghost } ]\n', 'rbac.bindings.0.role: unknown role "ghost"'],
    ['rbac:\n  bindings: [ { user: x, group: y, role: admin } ]\n', 'exactly one of user, group, client or service'],
    ['rbac:\n  roles:\n    r: { filters: { tenant: x } }\n', 'rbac.roles.r.filters'],
    ['rbac:\n  roles:\n    r: { filters: { account: "${usr.project}" } }\n', 'expected ${user.name} or ${user.<attribute>}'],
    ['rbac:\n  roles:\n    hub_peer: { permissions: ["*:*"] }\n', '"hub_peer" is reserved'],
  ])('%s', (yaml, message) => {
    expect(configError(yaml)).toContain(message);
  });

  it('accepts aliases and an empty section (which grants nothing)', () => {
    const c = rbacConfigSchema.parse({ roles: { r: { permissions: ['clusters:read', 'hubs:read'] } } });
    const rbac = new Rbac(c);
    expect(rbac.decide(user('x', { roles: ['r'] }), 'cluster:read').allowed).toBe(true);
    expect(rbac.decide(user('x', { roles: ['r'] }), 'hub:read').allowed).toBe(true);
    expect(new Rbac(rbacConfigSchema.parse({})).decide(user('x'), 'jobs:read').allowed).toBe(false);
  });
});
