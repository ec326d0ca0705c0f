// The brief's scaling: section in hub.yaml. shared_state is the group's Redis; the instance
// counts and the CPU target load for `sfleet deploy render kubernetes` (cli/deploy), and
// whatever cannot work is refused with file, line and key.
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { exportConfig, parseConfigText, validateConfigText } from '../../shared/config/index.js';
import { hubConfigSchema, withoutDerived } from './schema.js';

const BASE = 'tls: { ca: /etc/sfleet/ca.pem, cert: /etc/sfleet/hub.pem, key: /etc/sfleet/hub-key.pem }\netcd: { endpoints: ["http://etcd1:2379"] }\n';
const BRIEF = `scaling:
  mode: "horizontal"
  min_instances: 2
  max_instances: 10
  target_cpu_utilization: 70
  shared_state:
    backend: "redis"
    url: "redis://redis-cluster.company.com"
`;

describe('hub config: scaling', () => {
  it("loads the brief's block: shared_state.url becomes the group's Redis, the rest is kept for the deployment", () => {
    const c = parseConfigText(hubConfigSchema, BASE + BRIEF, 'hub.yaml', { env: {} });
    expect(c.scaling).toEqual({ mode: 'horizontal', min_instances: 2, max_instances: 10, target_cpu_utilization: 70, shared_state: { backend: 'redis', url: 'redis://redis-cluster.company.com' } });
    // The same Redis section a `redis: { url }` gives, defaults and all.
    const plain = parseConfigText(hubConfigSchema, `${BASE}redis: { url: "redis://redis-cluster.company.com" }\n`, 'hub.yaml', { env: {} });
    expect(c.redis).toEqual(plain.redis);
    expect(c.redis?.url).toBe('redis://redis-cluster.company.com');
  });

  it('a redis: section naming the same server is accepted; another server is refused', () => {
    const same = parseConfigText(hubConfigSchema, `${BASE}redis: { url: "redis://redis-cluster.company.com", key_prefix: fleet }\n${BRIEF}`, 'hub.yaml', { env: {} });
    expect(same.redis?.key_prefix).toBe('fleet');
    expect(validateConfigText(hubConfigSchema, `${BASE}redis: { url: "redis://other:6379" }\n${BRIEF}`, 'hub.yaml', { env: {} })).toEqual([
      expect.stringMatching(/^hub\.yaml:\d+: scaling\.shared_state\.url: names another Redis than the redis: section/),
    ]);
  });

  it('refuses what cannot work, naming file, line and key', () => {
    const tls = 'tls: { ca: a, cert: b, key: c }\n';
    const problems = (text: string) => validateConfigText(hubConfigSchema, text, 'hub.yaml', { env: {} });
    expect(problems(`${tls}scaling: { max_instances: 4 }\n`)).toEqual([expect.stringMatching(/^hub\.yaml:2: scaling: up to 4 hubs form a hub group, and a group needs etcd for membership, leader election and fencing: add an etcd section$/)]);
    expect(problems(`${BASE}scaling: { min_instances: 5, max_instances: 3 }\n`)).toEqual([expect.stringMatching(/scaling\.max_instances: 3 is below min_instances \(5\)/)]);
    expect(problems(`${BASE}scaling: { mode: vertical }\n`)).toEqual([expect.stringMatching(/scaling\.mode: only "horizontal"/)]);
    expect(problems(`${BASE}scaling: { target_cpu_utilization: 0 }\n`)).toEqual([expect.stringMatching(/scaling\.target_cpu_utilization/)]);
    expect(problems(`${BASE}scaling: { shared_state: { backend: memcached, url: "redis://r" } }\n`)).toEqual([expect.stringMatching(/scaling\.shared_state\.backend: only "redis"/)]);
    expect(problems(`${BASE}scaling: { shared_state: { backend: redis, url: "http://r" } }\n`)).toEqual([expect.stringMatching(/scaling\.shared_state\.url: expected redis:\/\//)]);
    expect(problems(`${tls}scaling: { min_instances: 1, max_instances: 1, shared_state: { backend: redis, url: "redis://r" } }\n`)).toEqual([expect.stringMatching(/scaling\.shared_state: shared state in Redis needs etcd too/)]);
  });

  it('config export writes shared_state as written (its ${VAR} kept), not a derived redis: section with the URL in clear', () => {
    const text = BASE + BRIEF.replace('"redis://redis-cluster.company.com"', '"${GROUP_REDIS_URL}"');
    const env = { GROUP_REDIS_URL: 'redis://:s3cret-pw@redis-cluster.company.com' };
    const c = parseConfigText(hubConfigSchema, text, 'hub.yaml', { env });
    expect(c.redis?.url).toBe('redis://:s3cret-pw@redis-cluster.company.com');
    const raw = parseDocument(text).toJS();
    const exported = exportConfig(hubConfigSchema, withoutDerived(c, raw), raw);
    expect(exported).not.toContain('s3cret-pw');
    expect(exported).toContain('${GROUP_REDIS_URL}');
    expect(parseConfigText(hubConfigSchema, exported, 'exported.yaml', { env }).redis).toEqual(c.redis);
  });

  it('a single hub may state its size without etcd', () => {
    const c = parseConfigText(hubConfigSchema, 'tls: { ca: a, cert: b, key: c }\nscaling: { min_instances: 1, max_instances: 1 }\n', 'hub.yaml', { env: {} });
    expect(c.scaling).toMatchObject({ min_instances: 1, max_instances: 1 });
    expect(c.redis).toBeUndefined();
  });
});
