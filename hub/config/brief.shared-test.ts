// Every configuration block of the feature brief (../shared/brief/enterprise-features.md), byte
// for byte, in the hub's or the agent's file as it belongs: each key either acts (its value
// reaches the parsed configuration, and a named test proves what it does) or is refused at load
// with a message saying where the setting lives instead. A key that is parsed and ignored, or a
// block the table below does not know, fails here.
//
// The brief is third-party text beside the repository, never copied into it: this file runs in
// the `shared-data` project, which scripts/test/run.sh runs when ../shared/brief is there
// (SFLEET_BRIEF_DIR points elsewhere); without it the file fails instead of passing empty.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { agentConfigSchema } from '../../agent/config/index.js';
import { agentFor } from '../../cli/agent-for/index.js';
import { migrateBrief, writeMigration } from '../../cli/migrate/index.js';
import { parseConfigText, validateConfigText } from '../../shared/config/index.js';
import { hubConfigSchema } from './schema.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BRIEF = resolve(process.env.SFLEET_BRIEF_DIR ?? join(REPO, '..', 'shared', 'brief'), 'enterprise-features.md');
if (!existsSync(BRIEF)) throw new Error(`${BRIEF} not found: the brief checks need ../shared/brief beside the repository (or SFLEET_BRIEF_DIR)`);

const ENV = { OIDC_CLIENT_ID: 'fleet', OIDC_CLIENT_SECRET: 'brief-secret', SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/X', PAGERDUTY_KEY: 'a'.repeat(32), SNOW_USER: 'snow', SNOW_PASS: 'pass' };
/** What every hub file needs besides the block (the brief's blocks assume a working hub). */
const HUB_BASE = 'tls: { ca: /etc/sfleet/ca.pem, cert: /etc/sfleet/hub.pem, key: /etc/sfleet/hub-key.pem }\n';
const AGENT_BASE = 'cluster: primary\nhub: { endpoints: ["hub1:7443"] }\ntls: { ca: /etc/sfleet/ca.pem, cert: /etc/sfleet/agent.pem, key: /etc/sfleet/agent-key.pem }\n';

type Fate =
  /** The value reaches the parsed config at the same path; `test` proves what it does and names the key. */
  | { acts: string }
  /** Refused at load; the message says where the setting lives instead. */
  | { refused: RegExp };

const acts = (test: string): Fate => ({ acts: test });
const refused = (pointer: RegExp): Fate => ({ refused: pointer });

const COMPLIANCE = acts('hub/compliance/compliance.test.ts');
const BACKUP = acts('hub/backup/backup.test.ts');
const INTEGRATIONS = acts('hub/config/integrations.test.ts');

/** Every leaf key of the brief's hub blocks (array items by index). */
const HUB_KEYS: Record<string, Fate> = {
  'auth.mfa.enabled': acts('test/login-local.test.ts'),
  'auth.mfa.providers.0.type': acts('test/login-local.test.ts'),
  'auth.mfa.providers.0.issuer': acts('test/login-local.test.ts'),
  'auth.mfa.providers.1.type': acts('test/webauthn-clustered.test.ts'),
  'auth.mfa.providers.1.challenge_timeout': acts('test/webauthn-clustered.test.ts'),
  'sso.saml.enabled': acts('test/saml-login.test.ts'),
  'sso.saml.idp_url': acts('test/saml-login.test.ts'),
  'sso.saml.certificate': acts('test/saml-login.test.ts'),
  'sso.oidc.enabled': acts('test/oidc-bearer.test.ts'),
  'sso.oidc.issuer': acts('test/oidc-login.test.ts'),
  'sso.oidc.client_id': acts('test/oidc-login.test.ts'),
  'sso.oidc.client_secret': acts('test/oidc-login.test.ts'),
  'rbac.roles.cluster_admin.permissions': acts('test/rbac-matrix.test.ts'),
  'rbac.roles.project_manager.permissions': acts('test/rbac-matrix.test.ts'),
  'rbac.roles.project_manager.filters.account': acts('test/rbac-matrix.test.ts'),
  'rbac.roles.readonly_user.permissions': acts('test/rbac-matrix.test.ts'),
  'clusters.primary.endpoints': acts('test/declared-clusters.test.ts'),
  'clusters.primary.load_balancing.strategy': acts('test/declared-clusters.test.ts'),
  'clusters.primary.load_balancing.health_check_interval': acts('test/declared-clusters.test.ts'),
  'clusters.primary.load_balancing.failover_threshold': acts('test/declared-clusters.test.ts'),
  'scaling.mode': acts('hub/config/scaling.test.ts'),
  'scaling.min_instances': acts('cli/deploy/render-kubernetes.test.ts'),
  'scaling.max_instances': acts('cli/deploy/render-kubernetes.test.ts'),
  'scaling.target_cpu_utilization': acts('cli/deploy/render-kubernetes.test.ts'),
  'scaling.shared_state.backend': acts('hub/config/scaling.test.ts'),
  'scaling.shared_state.url': acts('hub/config/scaling.test.ts'),
  'security.encryption.tls.min_version': acts('test/tls-cipher-suites.test.ts'),
  'security.encryption.tls.cipher_suites': acts('test/tls-cipher-suites.test.ts'),
  'security.encryption.data_at_rest.algorithm': acts('shared/security/config.test.ts'),
  'security.encryption.data_at_rest.key_provider': acts('shared/security/config.test.ts'),
  'security.encryption.data_at_rest.key_rotation_interval': acts('test/key-rotation.test.ts'),
  'compliance.frameworks': COMPLIANCE,
  'compliance.audit.enabled': COMPLIANCE,
  'compliance.audit.backend': COMPLIANCE,
  'compliance.audit.retention_days': COMPLIANCE,
  'compliance.audit.fields': COMPLIANCE,
  'observability.metrics.prometheus.enabled': acts('test/observability.test.ts'),
  'observability.metrics.prometheus.endpoint': acts('hub/metrics/config.test.ts'),
  'observability.metrics.prometheus.push_gateway': acts('test/observability.test.ts'),
  // Tracing exists (OTLP/HTTP, test/tracing.test.ts), but the brief enables it towards Jaeger's
  // legacy Thrift collector: as written, the block is refused with the pointer to OTLP on 4318.
  'observability.tracing.jaeger.enabled': refused(/Jaeger's legacy Thrift collector \(port 14268, \/api\/traces\) is not spoken: use Jaeger's OTLP\/HTTP receiver on port 4318/),
  'observability.tracing.jaeger.endpoint': refused(/Jaeger's legacy Thrift collector \(port 14268, \/api\/traces\) is not spoken: use Jaeger's OTLP\/HTTP receiver on port 4318/),
  'alerting.channels.0.type': acts('hub/alerting/notify/channels.test.ts'),
  'alerting.channels.0.endpoint': acts('hub/alerting/notify/channels.test.ts'),
  'alerting.channels.1.type': acts('hub/alerting/notify/channels.test.ts'),
  'alerting.channels.1.webhook': acts('hub/alerting/notify/channels.test.ts'),
  'alerting.channels.2.type': acts('hub/alerting/notify/channels.test.ts'),
  'alerting.channels.2.integration_key': acts('hub/alerting/notify/channels.test.ts'),
  'alerting.policies.critical.escalation_time': acts('hub/alerting/alerting.test.ts'),
  'alerting.policies.critical.channels': acts('hub/alerting/alerting.test.ts'),
  'alerting.policies.warning.escalation_time': acts('hub/alerting/alerting.test.ts'),
  'alerting.policies.warning.channels': acts('hub/alerting/alerting.test.ts'),
  'multi_tenancy.enabled': acts('hub/tenancy/tenancy.test.ts'),
  'multi_tenancy.isolation_mode': acts('hub/tenancy/tenancy.test.ts'),
  'multi_tenancy.tenants.engineering.clusters': acts('test/tenancy.test.ts'),
  'multi_tenancy.tenants.engineering.users': acts('test/tenancy.test.ts'),
  'multi_tenancy.tenants.engineering.resources.max_jobs': acts('test/tenancy.test.ts'),
  'multi_tenancy.tenants.engineering.resources.max_nodes': acts('hub/tenancy/tenancy.test.ts'),
  'multi_tenancy.tenants.research.clusters': acts('test/tenancy.test.ts'),
  'multi_tenancy.tenants.research.users': acts('test/tenancy.test.ts'),
  'multi_tenancy.tenants.research.resources.max_jobs': acts('test/tenancy.test.ts'),
  'multi_tenancy.tenants.research.resources.max_nodes': acts('hub/tenancy/tenancy.test.ts'),
  'backup.schedule': BACKUP,
  'backup.retention': BACKUP,
  'backup.encryption': BACKUP,
  'backup.destinations.0.type': BACKUP,
  'backup.destinations.0.bucket': BACKUP,
  'backup.destinations.1.type': BACKUP,
  'backup.destinations.1.bucket': BACKUP,
  'integrations.servicenow.instance': INTEGRATIONS,
  'integrations.servicenow.username': INTEGRATIONS,
  'integrations.servicenow.password': INTEGRATIONS,
  'integrations.servicenow.incident_table': INTEGRATIONS,
  'integrations.jira.url': INTEGRATIONS,
  'integrations.jira.project': INTEGRATIONS,
  'integrations.jira.issue_type': INTEGRATIONS,
};

/** What a hub block needs from another section to load (the provider's details of data_at_rest). */
const HUB_NEEDS: Record<string, string> = {
  auth: 'http: { allowed_origins: ["https://fleet.company.com:8443"] }\n',
  scaling: 'etcd: { endpoints: ["http://etcd1:2379"] }\n',
  backup: 'encryption: { enabled: true, provider: env, env: { var: SFLEET_KEY } }\n',
  compliance: 'audit: { ship: { elasticsearch: { url: "https://es.company.com:9200" } } }\n',
  security: 'encryption: { vault: { address: "https://vault.company.com:8200", key_name: sfleet, token_env: VAULT_TOKEN } }\n',
};

/**
 * What a block needs inside itself to load, given the way an operator adds it without editing
 * the block (`sfleet hub --set`): Jira takes credentials the brief's block does not show.
 */
const HUB_SETS: Record<string, string[]> = {
  integrations: ['integrations.jira.token=jira-api-token'],
};

type Path = (string | number)[];

function leaves(value: unknown, path: Path = [], out: Path[] = []): Path[] {
  if (Array.isArray(value) && value.some((v) => v !== null && typeof v === 'object')) value.forEach((v, i) => leaves(v, [...path, i], out));
  else if (value !== null && typeof value === 'object' && !Array.isArray(value)) for (const [k, v] of Object.entries(value)) leaves(v, [...path, k], out);
  else out.push(path);
  return out;
}

function at(value: unknown, path: Path): unknown {
  return path.reduce<unknown>((v, k) => (v === null || typeof v !== 'object' ? undefined : (v as Record<string | number, unknown>)[k]), value);
}

function without(value: unknown, drop: Path[]): unknown {
  const copy = structuredClone(value) as Record<string, unknown>;
  // Deepest and highest index first, so removing array items keeps the other paths valid.
  for (const path of [...drop].sort((a, b) => b.length - a.length || String(b.at(-1)).localeCompare(String(a.at(-1)), undefined, { numeric: true }))) {
    const parent = at(copy, path.slice(0, -1));
    const key = path.at(-1)!;
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else if (parent && typeof parent === 'object') delete (parent as Record<string, unknown>)[key];
  }
  return prune(copy);
}

/** Drops the lists items and sections that removing keys left empty. */
function prune(value: unknown): unknown {
  const empty = (v: unknown) => v !== null && typeof v === 'object' && Object.keys(v).length === 0;
  if (Array.isArray(value)) return value.map(prune).filter((v) => !empty(v));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, prune(v)] as const).filter(([, v]) => !empty(v)));
  }
  return value;
}

/** The brief's ```yaml blocks, each exactly as written. */
function briefBlocks(): string[] {
  const md = readFileSync(BRIEF, 'utf8');
  return [...md.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);
}

const blocks = briefBlocks();
const configBlocks = blocks.filter((b) => !/^\s*(#.*\n\s*)*apiVersion:/.test(b));

describe('the brief as written: every configuration block', () => {
  it('the brief has the blocks this table knows, and the table knows every key of them', () => {
    const keys = configBlocks.flatMap((b) => leaves(parse(b)).map((p) => p.join('.')));
    expect(keys.length).toBeGreaterThan(60);
    expect(keys.filter((k) => !(k in HUB_KEYS))).toEqual([]);
    expect(Object.keys(HUB_KEYS).filter((k) => !keys.includes(k))).toEqual([]);
  });

  for (const block of configBlocks) {
    const top = Object.keys(parse(block) as object)[0];
    it(`${top}: each key acts or is refused with where it lives instead`, () => {
      const text = HUB_BASE + (HUB_NEEDS[top] ?? '') + block;
      const paths = leaves(parse(block));
      const problems = validateConfigText(hubConfigSchema, text, 'hub.yaml', { env: ENV, overrides: HUB_SETS[top] ?? [] });
      const refusedPaths: Path[] = [];
      for (const path of paths) {
        const fate = HUB_KEYS[path.join('.')];
        if ('refused' in fate) {
          refusedPaths.push(path);
          expect(problems.some((p) => fate.refused.test(p)), `${path.join('.')}: refused with its pointer, got ${JSON.stringify(problems)}`).toBe(true);
        } else {
          const proof = readFileSync(join(REPO, fate.acts), 'utf8');
          expect(proof, `${fate.acts} exercises ${path.join('.')}`).toContain(String(path.at(-1)));
        }
      }
      // Nothing else is refused: each problem names one of the refused keys (or the block they sit in).
      for (const p of problems) expect(refusedPaths.some((r) => r.some((_, n) => p.includes(`: ${r.slice(0, n + 1).join('.')}:`))), p).toBe(true);
      // The acting keys, with the refused ones taken out, load and keep their values.
      const acting = paths.filter((p) => !refusedPaths.includes(p));
      if (acting.length === 0) return;
      const rest = stringify(without(parse(block), refusedPaths));
      const config = parseConfigText(hubConfigSchema, HUB_BASE + (HUB_NEEDS[top] ?? '') + rest, 'hub.yaml', { env: ENV, overrides: HUB_SETS[top] ?? [] });
      const raw = parse(rest.replace(/\$\{([A-Z_]+)\}/g, (_m, n: keyof typeof ENV) => ENV[n]));
      for (const path of acting) {
        const want = at(raw, path);
        const got = at(config, path);
        expect(got, path.join('.')).toBeDefined();
        // Durations are read into milliseconds; every other value arrives unchanged.
        if (typeof want === 'string' && /^\d+[smhd]$/.test(want)) expect(typeof got, path.join('.')).toBe('number');
        else expect(got, path.join('.')).toEqual(want);
      }
    });
  }

  it('clusters: `sfleet config agent-for primary` turns the brief\'s block into that cluster\'s agent configuration (slurm.endpoints, slurm.load_balancing)', async () => {
    const block = configBlocks.find((b) => b.startsWith('clusters:'))!;
    const primary = (parse(block) as { clusters: { primary: Record<string, unknown> } }).clusters.primary;
    const { text } = await agentFor(HUB_BASE + 'listen: { grpc: "hub1.company.com:7443" }\n' + block, 'hub.yaml', 'primary', { hubs: [], pkiDir: '/etc/sfleet/pki', spoolDir: '/var/lib/sfleet-agent/spool' });
    const config = parseConfigText(agentConfigSchema, text, 'agent.yaml', { env: { SLURM_JWT: 'jwt' } });
    expect(config.cluster).toBe('primary');
    expect(config.hub.endpoints).toEqual(['hub1.company.com:7443']);
    expect(config.slurm.endpoints).toEqual(primary.endpoints);
    expect(config.slurm.load_balancing).toEqual({ strategy: 'round_robin', health_check_interval: 30_000, failover_threshold: 3 });
  });

  it('security: the agent takes the same section (TLS to the hubs, its spool sealed by the key provider)', () => {
    const block = configBlocks.find((b) => b.startsWith('security:'))!;
    const problems = validateConfigText(agentConfigSchema, AGENT_BASE + 'slurm: { endpoints: ["https://slurm1.company.com"] }\n' + HUB_NEEDS.security + block, 'agent.yaml', { env: ENV });
    expect(problems).toEqual([expect.stringMatching(/security\.encryption\.data_at_rest\.key_rotation_interval: the agent does not rotate on a schedule: rotate its spool's keys with `sfleet keys rotate --config agent\.yaml`; the schedule belongs in hub\.yaml/)]);
  });

  it('sfleet config migrate --from-brief turns the whole brief into a hub.yaml and agent configurations that validate, listing what it added and what it could not map', async () => {
    const m = await migrateBrief(readFileSync(BRIEF, 'utf8'), 'enterprise-features.md', { hubEndpoint: 'hub1.company.com:7443', pkiDir: '/etc/sfleet/pki' });
    expect(m.errors).toEqual([]);
    expect(m.agents.map((a) => a.cluster)).toEqual(['primary']);
    // Every configuration block is mapped; the Deployment example is listed as not a configuration.
    expect(m.mapped).toEqual(expect.arrayContaining(configBlocks.map((b) => expect.stringMatching(new RegExp(`^${Object.keys(parse(b) as object)[0]} -> hub\\.yaml`)))));
    expect(m.unmapped).toEqual([expect.stringMatching(/^a Deployment manifest \(yaml block \d+\): not a configuration/)]);
    const out = mkdtempSync(join(tmpdir(), 'brief-migrate-'));
    const written = await writeMigration(m, out, 'enterprise-features.md', false);
    expect(written.problems).toEqual([]);
    // With the variables hub.env names set, the hub configuration loads.
    const env = Object.fromEntries(readFileSync(join(out, 'hub.env'), 'utf8').split('\n').filter((l) => /^[A-Z_]+=$/.test(l)).map((l) => [l.slice(0, -1), l.startsWith('SFLEET_PUBLIC_ORIGIN') || l.startsWith('SFLEET_ETCD_ENDPOINT') || l.startsWith('VAULT_ADDR') || l.startsWith('ELASTICSEARCH_URL') || l.startsWith('SLACK') ? 'https://x.company.com:8443' : 'set']));
    const hub = parseConfigText(hubConfigSchema, readFileSync(join(out, 'hub.yaml'), 'utf8'), 'hub.yaml', { env: { ...env, PAGERDUTY_KEY: 'a'.repeat(32) } });
    expect(hub.scaling?.max_instances).toBe(10);
    expect(hub.observability.tracing.jaeger.endpoint).toMatch(/:4318/);
  });

  it('the Kubernetes example is a manifest, not a configuration: the hub refuses it', () => {
    const manifest = blocks.filter((b) => !configBlocks.includes(b));
    expect(manifest).toHaveLength(1);
    expect(parse(manifest[0])).toMatchObject({ kind: 'Deployment' });
    expect(validateConfigText(hubConfigSchema, HUB_BASE + manifest[0], 'hub.yaml', { env: ENV })).toEqual([expect.stringMatching(/Unrecognized keys: "apiVersion", "kind", "metadata", "spec"/)]);
  });
});
