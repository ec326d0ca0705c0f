import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../shared/config/index.js';
import { z } from 'zod';
import { multiTenancyConfigSchema } from './config.js';
import type { Principal } from '../policy/index.js';
import { Tenancy } from './tenancy.js';

// The section as the hub config composes it (hub/config/schema.ts), without the rest of a hub file.
const load = (text: string) => parseConfigText(z.object({ multi_tenancy: multiTenancyConfigSchema.optional() }).strict(), text, 'hub.yaml');

const BRIEF = `multi_tenancy:
  enabled: true
  isolation_mode: "strict"
  operators: { groups: [hpc-admins] }
  tenants:
    engineering:
      clusters: ["eng-cluster"]
      users: ["eng-*"]
      resources: { max_jobs: 1000, max_nodes: 100 }
    research:
      clusters: ["research-cluster", "shared"]
      users: ["research-*"]
      groups: ["physics"]
      accounts: ["res-*", "physics"]
      resources: { max_jobs: 500, max_nodes: 50, max_memory: 2048GiB }
    ops:
      clusters: ["shared"]
      accounts: ["ops"]
`;

const person = (name: string, fields: Partial<Principal> = {}): Principal => ({ name, method: 'local', role: 'user', groups: [], attributes: {}, ...fields });

describe('multi_tenancy config', () => {
  it("reads the brief's shape and fills the defaults", () => {
    const c = load(BRIEF).multi_tenancy!;
    expect(c.tenants.engineering).toEqual({ clusters: ['eng-cluster'], accounts: ['*'], users: ['eng-*'], groups: [], resources: { max_jobs: 1000, max_nodes: 100 }, account_resources: {}, user_resources: {}, schedules: [], enforcement: { policy: 'alert', dry_run: false, slurm: { max_jobs_as: 'GrpSubmitJobs', shares: {}, take_over: false } } });
    expect(c.enforcement_interval).toBe(30_000);
    expect(c.tenants.research.resources?.max_memory).toBe(2048 * 1024 ** 3);
  });

  const refused: [string, string][] = [
    ['  tenants:\n    a: { clusters: [c], resources: { max_jobs: -1 } }\n', 'hub.yaml:4: multi_tenancy.tenants.a.resources.max_jobs: a limit cannot be negative'],
    ['  tenants:\n    a: { clusters: [c], resources: { max_nodes: 5000000 } }\n', 'hub.yaml:4: multi_tenancy.tenants.a.resources.max_nodes: more than 1,000,000 nodes is not a plausible limit'],
    ['  tenants:\n    a: { clusters: [c], resources: { max_cpus: 1.5 } }\n', 'hub.yaml:4: multi_tenancy.tenants.a.resources.max_cpus: a whole number'],
    ['  tenants:\n    a: { clusters: [c], resources: { max_memory: lots } }\n', 'hub.yaml:4: multi_tenancy.tenants.a.resources.max_memory: invalid size "lots"'],
    ['  tenants:\n    a: { clusters: [c], resources: { max_job: 3 } }\n', 'hub.yaml:4: multi_tenancy.tenants.a.resources'],
    ['  tenants:\n    Bad: { clusters: [c] }\n', 'hub.yaml:4: multi_tenancy.tenants.Bad'],
    ['  tenants: {}\n', 'hub.yaml:3: multi_tenancy.tenants: multi_tenancy is enabled but names no tenant'],
    ['  tenants:\n    a: { clusters: [c], enforcement: { policy: cancel } }\n', 'hub.yaml:4: multi_tenancy.tenants.a.enforcement.policy'],
    ['  enforcement_interval: 100ms\n  tenants:\n    a: { clusters: [c] }\n', 'hub.yaml:3: multi_tenancy.enforcement_interval: at least 1s'],
  ];
  for (const [body, message] of refused) {
    it(`refuses ${message.split(': ').slice(1).join(': ')}`, () => {
      expect(() => load(`multi_tenancy:\n  enabled: true\n${body}`)).toThrow(message);
    });
  }
});

describe('membership', () => {
  const tenancy = new Tenancy(load(BRIEF).multi_tenancy!);

  it('by login name, group and Slurm account, saying which name matched', () => {
    expect(tenancy.memberships(person('eng-ann'))).toEqual([{ tenant: 'engineering', via: 'user eng-ann matches "eng-*"' }]);
    expect(tenancy.memberships(person('zoe', { groups: ['staff', 'physics'] }))).toEqual([{ tenant: 'research', via: 'group physics matches "physics"' }]);
    expect(tenancy.memberships(person('max', { attributes: { account: 'misc, res-bio' } }))).toEqual([{ tenant: 'research', via: 'Slurm account res-bio matches "res-*"' }]);
    // A tenant with every account ("*") takes no one in by account.
    expect(tenancy.memberships(person('max', { attributes: { account: 'anything' } }))).toEqual([]);
  });

  it('a job belongs to the tenant of its (cluster, account); a shared cluster is split by account', () => {
    expect(tenancy.tenantOf('eng-cluster', 'whatever')).toBe('engineering');
    expect(tenancy.tenantOf('shared', 'res-bio')).toBe('research');
    expect(tenancy.tenantOf('shared', 'ops')).toBe('ops');
    expect(tenancy.tenantOf('shared', 'nobody')).toBeUndefined();
  });

  it('a cluster is (region, name): an unqualified glob names this region, region/glob another; only this region\'s own count here', () => {
    const t = new Tenancy(load(`multi_tenancy:
  enabled: true
  tenants:
    eng: { clusters: ["gpu", "eu-west/gpu-*", "*/shared"], users: ["ann"] }
`).multi_tenancy!, 'us-east');
    expect(t.localClusters('eng')).toEqual(['gpu', 'shared']);
    expect(t.tenantOf('gpu-a', 'x')).toBeUndefined();
    expect(t.tenantOf('shared', 'x')).toBe('eng');
    expect(t.resolve(person('ann'), undefined)).toMatchObject({
      clauses: [{ cluster: ['gpu', 'shared'], account: ['*'] }],
      regions: [
        { region: ['us-east'], cluster: ['gpu'], account: ['*'] },
        { region: ['eu-west'], cluster: ['gpu-*'], account: ['*'] },
        { region: ['*'], cluster: ['shared'], account: ['*'] },
      ],
    });
    expect(() => load('multi_tenancy:\n  tenants:\n    eng: { clusters: ["a/b/c"] }\n')).toThrow(/region\/cluster/);
  });

  it('a request acts in one tenant: the only one by default, else the one chosen', () => {
    expect(tenancy.resolve(person('eng-ann'), undefined)).toMatchObject({ name: 'engineering', clauses: [{ cluster: ['eng-cluster'], account: ['*'] }] });
    const both = person('eng-ann', { attributes: { account: 'ops' } });
    expect(() => tenancy.resolve(both, undefined)).toThrow('eng-ann is a member of several tenants (engineering, ops): choose one with the X-Sfleet-Tenant header or --tenant');
    expect(tenancy.resolve(both, 'ops')).toMatchObject({ name: 'ops', via: 'Slurm account ops matches "ops"', clauses: [{ cluster: ['shared'], account: ['ops'] }] });
  });

  it('refuses a tenant the caller is not in with the same words whether it exists or not', () => {
    expect(() => tenancy.resolve(person('eng-ann'), 'research')).toThrow('eng-ann is not a member of tenant "research" (member of: engineering)');
    expect(() => tenancy.resolve(person('eng-ann'), 'nope')).toThrow('eng-ann is not a member of tenant "nope" (member of: engineering)');
  });

  it('operators and hub certificates act fleet-wide; anyone else outside every tenant sees nothing', () => {
    expect(tenancy.resolve(person('root-ish', { groups: ['hpc-admins'] }), undefined)).toBeUndefined();
    expect(tenancy.resolve(person('hub-b', { role: 'hub', method: 'mtls' }), undefined)).toBeUndefined();
    expect(tenancy.resolve(person('stranger'), undefined)).toEqual({ name: null, via: 'stranger is in no tenant and no operator', clauses: [] });
  });

  it('isolation_mode shared: the same rows, plus fleet-wide aggregate counts', () => {
    const shared = new Tenancy(load(BRIEF.replace('isolation_mode: "strict"', 'isolation_mode: "shared"')).multi_tenancy!);
    expect(shared.resolve(person('eng-ann'), undefined)).toEqual({ name: 'engineering', via: 'user eng-ann matches "eng-*"', clauses: [{ cluster: ['eng-cluster'], account: ['*'] }], regions: [{ region: ['default'], cluster: ['eng-cluster'], account: ['*'] }], aggregates: true });
    expect(tenancy.resolve(person('eng-ann'), undefined)?.aggregates).toBeUndefined();
  });

  it('disabled: nobody is narrowed', () => {
    const off = new Tenancy(load(BRIEF.replace('enabled: true', 'enabled: false')).multi_tenancy!);
    expect(off.resolve(person('eng-ann'), undefined)).toBeUndefined();
  });
});
