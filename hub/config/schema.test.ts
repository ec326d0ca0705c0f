import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../shared/config/index.js';
import { hubConfigSchema } from './schema.js';

const dir = join(import.meta.dirname, 'testdata');
const load = (name: string) => loadConfigFile(hubConfigSchema, join(dir, name), { env: {} });

describe('hub config: clustered mode', () => {
  it('reads etcd and redis sections with their defaults', () => {
    const c = load('clustered.yaml');
    expect(c.etcd).toEqual({
      endpoints: ['http://etcd1:2379', 'http://etcd2:2379', 'http://etcd3:2379'],
      prefix: '/sfleet/',
      lease_ttl: 4_000,
      call_timeout: 2_000,
      dial_timeout: 2_000,
      breaker_failures: 2,
      breaker_reset: 1_000,
    });
    expect(c.redis).toMatchObject({ sentinels: ['sentinel1:26379', 'sentinel2:26379'], sentinel_name: 'fleet', key_prefix: 'sfleet', stream_retention: 600_000, stale_after: 5_000, password: '' });
    expect(Object.isFrozen(c.etcd)).toBe(true);
  });

  it('standalone: neither section is there unless configured', () => {
    const c = hubConfigSchema.parse({ tls: { ca: 'a', cert: 'b', key: 'c' } });
    expect(c.etcd).toBeUndefined();
    expect(c.redis).toBeUndefined();
  });

  it('alerting.directory_contacts needs sso.ldap with a service account (bind_dn, user_base_dn)', () => {
    const base = { tls: { ca: 'a', cert: 'b', key: 'c' }, alerting: { channels: [{ type: 'email', endpoint: 'a@x.test' }], directory_contacts: {} } };
    expect(hubConfigSchema.safeParse(base).error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['alerting.directory_contacts', 'reads contacts from the directory with its service account: configure sso.ldap with bind_dn and user_base_dn']]);
    const ldap = { url: 'ldap://127.0.0.1:389', bind_dn: 'cn=svc,dc=x', bind_password_env: 'LDAP_PW', user_base_dn: 'ou=people,dc=x' };
    expect(hubConfigSchema.parse({ ...base, sso: { ldap } }).alerting.directory_contacts).toEqual({ refresh: 300_000, mail_attribute: 'mail', mobile_attribute: 'mobile' });
  });

  const cases: [string, string][] = [
    ['unknown-etcd-key.yaml', 'unknown-etcd-key.yaml:3: etcd: Unrecognized key: "ttl"'],
    ['redis-without-etcd.yaml', 'redis-without-etcd.yaml:3: redis: shared state in Redis needs etcd too (its leader compacts the replication stream): add an etcd section'],
    ['bad-lease-ttl.yaml', 'bad-lease-ttl.yaml:4: etcd.lease_ttl: a whole number of seconds, at least 2s'],
    ['redis-url-and-sentinels.yaml', 'redis-url-and-sentinels.yaml:5: redis.sentinels: set url or sentinels, not both'],
    ['no-redis-address.yaml', 'no-redis-address.yaml:4: redis.url: set url, or sentinels and sentinel_name'],
    ['small-part-size.yaml', 'small-part-size.yaml:7: backup.destinations.1.part_size: at least 5MiB: S3 and GCS refuse smaller parts (but the last) when the upload completes'],
  ];
  for (const [file, message] of cases) {
    it(`refuses ${file} with a message naming file, line and key`, () => {
      expect(() => load(file)).toThrow(message);
    });
  }
});
