// sfleet config migrate --from-brief: a file in the brief's shapes becomes a hub.yaml the hub
// accepts, an agent.yaml per declared cluster, and env files for what they read; what a block
// needs beside it is added as a ${VAR} and said; keys of no slurmfleet setting are listed.
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { agentConfigSchema } from '../../agent/config/index.js';
import { hubConfigSchema } from '../../hub/config/index.js';
import { parseConfigText, validateConfigText } from '../../shared/config/index.js';
import { migrateBrief } from './brief-to-fleet.js';
import { writeMigration } from './write-migration.js';

// The brief's shapes, with this project's own values.
const FILE = `auth:
  mfa:
    enabled: true
    providers:
      - type: "totp"
        issuer: "lab-fleet"
      - type: "hardware"
        challenge_timeout: 45s
sso:
  oidc:
    enabled: true
    issuer: "https://idp.lab.example"
    client_id: "\${LAB_OIDC_ID}"
    client_secret: "\${LAB_OIDC_SECRET}"
clusters:
  alpha:
    endpoints: ["https://alpha-ctl1.lab.example", "https://alpha-ctl2.lab.example"]
    load_balancing: { strategy: "round_robin", health_check_interval: 20s, failover_threshold: 2 }
  beta:
    endpoints: ["http://beta-head:6820"]
security:
  encryption:
    tls: { min_version: "1.3" }
    data_at_rest: { algorithm: "AES-256-GCM", key_provider: "vault", key_rotation_interval: "14d" }
compliance:
  frameworks: ["sox"]
  audit: { enabled: true, backend: "elasticsearch", retention_days: 3000 }
observability:
  tracing:
    jaeger: { enabled: true, endpoint: "http://traces.lab.example:14268" }
integrations:
  jira: { url: "https://lab.atlassian.net", project: "LAB", issue_type: "Task" }
alerting:
  policies:
    critical: { escalation_time: 10m, channels: ["jira"] }
dashboards:
  theme: dark
`;

describe('sfleet config migrate --from-brief', () => {
  it('writes a hub.yaml the hub accepts, with every block as written and what each needs as ${VAR}s in a 0600 hub.env', async () => {
    const m = await migrateBrief(FILE, 'fleet.yaml', { hubEndpoint: 'hub.lab.example:7443', pkiDir: '/etc/sfleet/pki' });
    expect(m.errors).toEqual([]);
    const out = mkdtempSync(join(tmpdir(), 'brief-migrate-'));
    const written = await writeMigration(m, out, 'fleet.yaml', false);
    expect(written.problems).toEqual([]);
    const hubText = readFileSync(join(out, 'hub.yaml'), 'utf8');
    const env = { LAB_OIDC_ID: 'id', LAB_OIDC_SECRET: 's', VAULT_ADDR: 'https://vault.lab.example:8200', VAULT_TOKEN: 't', ELASTICSEARCH_URL: 'https://es.lab.example:9200', JIRA_TOKEN: 'j', SFLEET_PUBLIC_ORIGIN: 'https://fleet.lab.example:8443' };
    const hub = parseConfigText(hubConfigSchema, hubText, 'hub.yaml', { env });
    expect(hub.auth.mfa.providers[1]).toMatchObject({ type: 'hardware', challenge_timeout: 45_000, rp_id: 'fleet.lab.example', origins: ['https://fleet.lab.example:8443'] });
    expect(hub.encryption?.vault).toMatchObject({ address: 'https://vault.lab.example:8200', key_name: 'sfleet', token_env: 'VAULT_TOKEN' });
    expect(hub.audit.ship?.elasticsearch?.url).toBe('https://es.lab.example:9200');
    expect(hub.observability.tracing.jaeger.endpoint).toMatch(/^http:\/\/traces\.lab\.example:4318/);
    expect(hub.alerting.policies.critical.channels).toEqual(['jira']);
    expect(hub.compliance?.audit?.retention_days).toBe(3000);

    const hubEnv = readFileSync(join(out, 'hub.env'), 'utf8');
    expect(statSync(join(out, 'hub.env')).mode & 0o777).toBe(0o600);
    for (const name of Object.keys(env)) expect(hubEnv).toMatch(new RegExp(`^${name}=$`, 'm'));
    expect(m.warnings).toEqual(expect.arrayContaining([
      expect.stringMatching(/^security\.encryption\.data_at_rest\.key_provider vault: added encryption\.vault/),
      expect.stringMatching(/^compliance\.audit\.backend elasticsearch: added audit\.ship\.elasticsearch\.url/),
      expect.stringMatching(/^observability\.tracing\.jaeger\.endpoint: http:\/\/traces\.lab\.example:14268 is Jaeger's legacy Thrift collector; written as its OTLP\/HTTP receiver http:\/\/traces\.lab\.example:4318/),
      expect.stringMatching(/^integrations\.jira: added token \$\{JIRA_TOKEN\}/),
      expect.stringMatching(/^auth\.mfa\.providers hardware: added http\.allowed_origins/),
    ]));
    expect(m.unmapped).toEqual(['dashboards: not a slurmfleet setting']);
  });

  it('writes an agent.yaml per declared cluster, streaming to the named hub, its JWT from agent.env', async () => {
    const m = await migrateBrief(FILE, 'fleet.yaml', { hubEndpoint: 'hub.lab.example:7443', pkiDir: '/etc/sfleet/pki' });
    const out = mkdtempSync(join(tmpdir(), 'brief-migrate-'));
    await writeMigration(m, out, 'fleet.yaml', false);
    const alpha = parseConfigText(agentConfigSchema, readFileSync(join(out, 'alpha', 'agent.yaml'), 'utf8'), 'agent.yaml', { env: { SLURM_JWT: 'jwt' } });
    expect(alpha.cluster).toBe('alpha');
    expect(alpha.hub.endpoints).toEqual(['hub.lab.example:7443']);
    expect(alpha.slurm.endpoints).toEqual(['https://alpha-ctl1.lab.example', 'https://alpha-ctl2.lab.example']);
    expect(alpha.slurm.load_balancing).toEqual({ strategy: 'round_robin', health_check_interval: 20_000, failover_threshold: 2 });
    const beta = readFileSync(join(out, 'beta', 'agent.yaml'), 'utf8');
    expect(validateConfigText(agentConfigSchema, beta, 'beta/agent.yaml', { requireEnv: false })).toEqual([]);
    expect(readFileSync(join(out, 'beta', 'agent.env'), 'utf8')).toMatch(/^SLURM_JWT=$/m);
  });

  it('reads the ```yaml blocks of Markdown, lists a manifest as not a configuration, and refuses a file with no blocks', async () => {
    const md = `# Our fleet\n\n\`\`\`yaml\nrbac:\n  roles:\n    ops: { permissions: ["jobs:read"] }\n\`\`\`\n\ntext\n\n\`\`\`yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata: { name: x }\n\`\`\`\n`;
    const m = await migrateBrief(md, 'fleet.md', { hubEndpoint: 'hub:7443', pkiDir: '/p' });
    expect(parse(JSON.stringify(m.hub)).rbac.roles.ops.permissions).toEqual(['jobs:read']);
    expect(m.unmapped).toEqual([expect.stringMatching(/^a Deployment manifest \(yaml block 2\): not a configuration; sfleet deploy render kubernetes/)]);
    await expect(migrateBrief('just: [text\n', 'x.yaml', { hubEndpoint: 'hub:7443', pkiDir: '/p' })).rejects.toThrow(/x\.yaml: invalid YAML/);
    await expect(migrateBrief('- a\n- b\n', 'x.yaml', { hubEndpoint: 'hub:7443', pkiDir: '/p' })).rejects.toThrow(/x\.yaml: no configuration blocks found/);
  });
});
