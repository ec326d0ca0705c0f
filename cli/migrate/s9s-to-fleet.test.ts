import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { migrateS9s, readS9sConfig, writeMigration } from './index.js';

const jwtFor = (user: string): string => `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify({ sun: user, exp: 1 })).toString('base64url')}.sig`;

const S9S = stringify({
  refreshRate: '20s',
  maxRetries: 5,
  defaultCluster: 'prod',
  clusters: [
    { name: 'prod', cluster: { endpoint: 'https://slurm-prod.example.org:6820', token: jwtFor('svc-fleet'), apiVersion: 'v0.0.41', insecure: true, timeout: '1m30s' }, namespace: 'hpc', readOnly: true },
    { name: 'dev', cluster: { endpoint: 'http://slurm-dev.example.org:6820', token: '${DEV_JWT}', apiVersion: 'v0.0.37', user: 'ops' } },
    { name: 'bad name!', cluster: { endpoint: 'https://x.example.org:6820' } },
    { name: 'noscheme', cluster: { endpoint: 'slurm.example.org:6820' } },
  ],
  ui: { skin: 'monokai' },
  plugins: [{ name: 'cost-tracker', path: '/x.so' }],
  unknownTop: 1,
});

const opts = { hubEndpoint: 'hub.example.org:7443', pkiDir: '/etc/sfleet/pki', env: {} };

describe('s9s -> slurmfleet', () => {
  const migration = migrateS9s(readS9sConfig(S9S, 'config.yaml'), opts);
  const agent = (name: string) => migration.agents.find((a) => a.cluster === name)!;

  it('makes one agent per usable cluster, with the endpoint, version, timeout and the token only as ${SLURM_JWT}', () => {
    expect(migration.agents.map((a) => a.cluster)).toEqual(['prod', 'dev']);
    expect(agent('prod').config).toMatchObject({
      cluster: 'prod',
      hub: { endpoints: ['hub.example.org:7443'] },
      tls: { ca: '/etc/sfleet/pki/ca.pem', cert: '/etc/sfleet/pki/prod-agent.pem' },
      slurm: { endpoints: ['https://slurm-prod.example.org:6820'], api_version: 'v0.0.41', timeout: '1m30s', auth: { user: 'svc-fleet', token: '${SLURM_JWT}' }, tls: { insecure: true } },
      poll_interval: '20s',
    });
    expect(JSON.stringify(migration.agents.map((a) => a.config))).not.toContain(jwtFor('svc-fleet'));
    expect(agent('prod').envLines).toContain(`SLURM_JWT=${jwtFor('svc-fleet')}`);
  });

  it('takes the user from s9s, else from the token; warns when neither says', () => {
    expect(agent('dev').config).toMatchObject({ slurm: { auth: { user: 'ops' } } });
    expect(migration.warnings.join('\n')).toMatch(/dev: the token is \$\{DEV_JWT\}, not set where migrate ran/);
    expect(agent('dev').envLines).toContain('SLURM_JWT=');
  });

  it('resolves a ${VAR} token from the environment it runs in, as s9s does', () => {
    const withEnv = migrateS9s(readS9sConfig(S9S, 'config.yaml'), { ...opts, env: { DEV_JWT: jwtFor('ops') } });
    expect(withEnv.agents.find((a) => a.cluster === 'dev')!.envLines).toContain(`SLURM_JWT=${jwtFor('ops')}`);
  });

  it('names every key it did not map, and why; an insecure endpoint is a warning', () => {
    const unmapped = migration.unmapped.join('\n');
    for (const key of ['maxRetries', 'defaultCluster', 'ui:', 'plugins:', 'unknownTop:', 'clusters[0].namespace', 'clusters[1].cluster.apiVersion: v0.0.37']) expect(unmapped).toContain(key);
    expect(migration.warnings.join('\n')).toMatch(/prod: insecure/);
    expect(migration.agents.find((a) => a.cluster === 'dev')!.config.slurm).not.toHaveProperty('api_version');
  });

  it('refuses clusters it cannot use by name, and migrates the rest', () => {
    expect(migration.errors).toEqual([expect.stringMatching(/^clusters\[2\]\.name: "bad name!"/), expect.stringMatching(/^clusters\[3\]\.cluster\.endpoint: "slurm.example.org:6820" is not http/)]);
  });

  it('turns readOnly into a read-only role per cluster, and keeps one admin binding', () => {
    const rbac = migration.hub.rbac as { roles: Record<string, { permissions: string[]; filters: object }>; bindings: unknown[] };
    expect(rbac.roles.s9s_prod_readonly).toEqual({ permissions: ['cluster:read', 'jobs:read', 'nodes:read', 'watch:read'], filters: { cluster: 'prod' } });
    expect(rbac.roles.s9s_dev_operator.permissions).toContain('jobs:*');
    expect(rbac.bindings).toEqual([{ client: 'admin', role: 'admin' }]);
  });

  it('writes files that validate, the env file 0600, and never overwrites without force', async () => {
    const dir = mkdtempSync(join(tmpdir(), 's9s-migrate-'));
    const written = await writeMigration(migration, dir, 'config.yaml', false);
    expect(written.problems).toEqual([]);
    expect(statSync(join(dir, 'prod', 'agent.env')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'prod', 'agent.yaml'), 'utf8')).not.toContain('svc-fleet.');
    await expect(writeMigration(migration, dir, 'config.yaml', false)).rejects.toThrow(/exists: migrate does not overwrite/);
    await expect(writeMigration(migration, dir, 'config.yaml', true)).resolves.toMatchObject({ problems: [] });
  });

  it('says what is wrong with a file that is not an s9s config', () => {
    expect(() => readS9sConfig('clusters: [', 'x.yaml')).toThrow(/x\.yaml: not YAML/);
    expect(() => readS9sConfig('clusters: []', 'x.yaml')).toThrow(/x\.yaml: clusters: the file has no clusters/);
    expect(() => readS9sConfig('clusters: [{name: a}]', 'x.yaml')).toThrow(/x\.yaml: clusters\.0\.cluster/);
  });
});
