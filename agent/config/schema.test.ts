import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../shared/config/index.js';
import { agentConfigSchema } from './schema.js';

const dir = join(import.meta.dirname, 'testdata');
const load = (name: string, env: NodeJS.ProcessEnv = {}, overrides: string[] = []) =>
  loadConfigFile(agentConfigSchema, join(dir, name), { env, overrides });

describe('agent config', () => {
  it('reads the documented shape, interpolates ${ENV} and converts units', () => {
    const c = load('good.yaml', { SLURM_JWT: 'jwt-from-env' });
    expect(c.cluster).toBe('prod-a');
    expect(c.hub.endpoints).toEqual(['hub1.example.org:7443', 'hub2.example.org:7443']);
    expect(c.slurm.auth).toEqual({ user: 'slurm', token: 'jwt-from-env' });
    expect(c.poll_interval).toBe(15_000);
    expect(c.spool.max_bytes).toBe(64 * 1024 * 1024);
    expect(Object.isFrozen(c.slurm)).toBe(true);
  });

  it('reads slurm.load_balancing as the issue\'s example writes it, with defaults when it is left out', () => {
    expect(load('load-balancing.yaml').slurm.load_balancing).toEqual({ strategy: 'round_robin', health_check_interval: 30_000, failover_threshold: 3 });
    expect(load('good.yaml', { SLURM_JWT: 'x' }).slurm.load_balancing).toEqual({ strategy: 'failover', health_check_interval: 30_000, failover_threshold: 3 });
    expect(load('good.yaml', { SLURM_JWT: 'x' }, ['slurm.load_balancing.health_check_interval=5s']).slurm.load_balancing.health_check_interval).toBe(5_000);
  });

  it('renews the certificate at 70% of its lifetime unless tls.renew_at says otherwise', () => {
    expect(load('good.yaml', { SLURM_JWT: 'x' }).tls.renew_at).toBe(0.7);
    expect(load('good.yaml', { SLURM_JWT: 'x' }, ['tls.renew_at=0.5']).tls.renew_at).toBe(0.5);
  });

  it('lets --set override any key', () => {
    const c = load('good.yaml', { SLURM_JWT: 'x' }, ['poll_interval=2s', 'slurm.source=cli']);
    expect(c.poll_interval).toBe(2_000);
    expect(c.slurm.source).toBe('cli');
  });

  // Each failure names the file, the line and the key.
  const cases: [string, string][] = [
    ['unknown-key.yaml', 'unknown-key.yaml:5: slurm: Unrecognized key: "polling"'],
    ['bad-duration.yaml', 'bad-duration.yaml:5: poll_interval: invalid duration "often" (use e.g. 10s, 5m, 1h)'],
    ['no-endpoints.yaml', 'no-endpoints.yaml:2: hub.endpoints: name at least one hub endpoint (host:port)'],
    ['missing-env.yaml', 'missing-env.yaml:6: slurm.auth.token: environment variable SFLEET_TEST_UNSET_VARIABLE is not set'],
    ['bad-yaml.yaml', 'bad-yaml.yaml:4: invalid YAML'],
    // Found by the config-file fuzz target: an alias with no anchor was a ReferenceError.
    ['unresolved-alias.yaml', 'unresolved-alias.yaml:5: invalid YAML: Unresolved alias'],
    ['rest-without-endpoint.yaml', 'rest-without-endpoint.yaml:4: slurm.endpoints: the rest source needs at least one slurmrestd endpoint'],
    ['bad-strategy.yaml', 'bad-strategy.yaml:7: slurm.load_balancing.strategy: Invalid option: expected one of "failover"|"round_robin"'],
    ['bad-threshold.yaml', 'bad-threshold.yaml:7: slurm.load_balancing.failover_threshold: Too small: expected number to be >=1'],
    ['bad-renew-at.yaml', 'bad-renew-at.yaml:5: tls.renew_at: less than 1 (renew before it expires)'],
  ];
  for (const [file, message] of cases) {
    it(`refuses ${file} with a message naming file, line and key`, () => {
      expect(() => load(file)).toThrow(message);
    });
  }

  // Found while fixing the fuzz finding above: `--set __proto__.x=1` wrote to Object.prototype.
  it('refuses a --set path through __proto__, constructor or prototype and leaves Object.prototype alone', () => {
    for (const key of ['__proto__.polluted', 'hub.constructor.prototype.polluted', 'prototype']) {
      expect(() => load('good.yaml', { SLURM_JWT: 'x' }, [`${key}=1`])).toThrow(/^--set .*: "(__proto__|constructor|prototype)" is not a config key$/);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('names a missing file', () => {
    expect(() => load('absent.yaml')).toThrow(/absent.yaml: cannot read config file: ENOENT/);
  });
});
