// Two tenants owning one (region, cluster, account) are refused at load with the file, line and
// key, naming both tenants and the cluster; unqualified cluster globs are the hub's own region.
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../shared/config/index.js';
import { hubConfigSchema } from '../config/schema.js';
import { globOverlap, ownershipClashes } from './clash.js';

/** A whole hub config (the check needs its region), tenants as YAML lines under `tenants:`. */
const load = (tenants: string, region?: string) =>
  parseConfigText(hubConfigSchema, `tls: { ca: ca.pem, cert: hub.pem, key: hub-key.pem }\n${region ? `region: ${region}\n` : ''}multi_tenancy:\n  enabled: true\n  tenants:\n${tenants}`, 'hub.yaml', { env: {} });

describe('globOverlap: a name both globs match', () => {
  it('finds the shortest one, or none', () => {
    expect(globOverlap('gpu', 'gpu')).toBe('gpu');
    expect(globOverlap('gpu', 'gpu-*')).toBeUndefined();
    expect(globOverlap('gpu-*', 'gpu-1')).toBe('gpu-1');
    expect(globOverlap('gpu-*', '*-a')).toBe('gpu-a');
    expect(globOverlap('a*', 'b*')).toBeUndefined();
    expect(globOverlap('*', '*')).toBe('x');
    expect(globOverlap('g?u', '*p*')).toBe('gpu');
    expect(globOverlap('??', 'abc')).toBeUndefined();
    expect(globOverlap('res-*', 'res-bio')).toBe('res-bio');
  });
});

describe('tenants owning the same jobs', () => {
  it('refuses gpu and default/gpu in region default: one cluster, named with both tenants', () => {
    expect(() => load('    a: { clusters: [gpu], accounts: [x] }\n    b:\n      clusters: [other, default/gpu]\n      accounts: [x]\n')).toThrow(
      'hub.yaml:7: multi_tenancy.tenants.b.clusters.1: tenants a and b both own the jobs of account "x" on cluster default/gpu (a: "gpu", b: "default/gpu"): a job belongs to one tenant',
    );
  });

  it('refuses the same glob text twice (as before), and globs that meet on a cluster and an account', () => {
    expect(() => load('    a: { clusters: ["c*"], accounts: [x] }\n    b:\n      clusters: [d, "c*"]\n      accounts: [x]\n')).toThrow(
      'hub.yaml:7: multi_tenancy.tenants.b.clusters.1: tenants a and b both own the jobs of account "x" on cluster default/c* (a: "c*", b: "c*")',
    );
    expect(() => load('    a: { clusters: ["gpu-*"], accounts: ["res-*"] }\n    b: { clusters: [gpu-7], accounts: [res-bio, ops] }\n')).toThrow(
      'multi_tenancy.tenants.b.clusters.0: tenants a and b both own the jobs of account "res-bio" on cluster default/gpu-7',
    );
    // A region glob naming this region meets an unqualified one.
    expect(() => load('    a: { clusters: ["*/shared"] }\n    b: { clusters: [shared] }\n', 'eu')).toThrow(/tenants a and b both own the jobs of account "\*" on cluster eu\/shared/);
  });

  it('takes the same cluster name in two regions, and a shared cluster split by accounts', () => {
    const ok = load('    a: { clusters: [gpu, "eu-*/batch"], accounts: [x] }\n    b: { clusters: [us/gpu, us/batch], accounts: [x] }\n    c: { clusters: [gpu], accounts: [y] }\n');
    expect(Object.keys(ok.multi_tenancy!.tenants)).toEqual(['a', 'b', 'c']);
    // us/gpu is this hub's own gpu when the hub is in region us.
    expect(() => load('    a: { clusters: [gpu], accounts: [x] }\n    b: { clusters: [us/gpu], accounts: [x] }\n', 'us')).toThrow(/on cluster us\/gpu \(a: "gpu", b: "us\/gpu"\)/);
  });

  it('names each clashing pair once', () => {
    const clashes = ownershipClashes({ a: { clusters: ['c1', 'c2'], accounts: ['*'] }, b: { clusters: ['c1', 'c2'], accounts: ['*'] }, c: { clusters: ['c2'], accounts: ['z'] } }, 'default');
    expect(clashes.map((c) => `${c.tenant}.${c.index}`)).toEqual(['b.0', 'c.0', 'c.0']);
    expect(clashes[2]!.message).toMatch(/^tenants b and c both own the jobs of account "z" on cluster default\/c2/);
  });
});
