// `sfleet config migrate --from-brief FILE --out DIR`: a configuration written in the shapes of the
// feature brief (one YAML file with its blocks, or the brief's own Markdown with its ```yaml
// blocks) becomes a hub.yaml, an agent.yaml per cluster of its clusters: map, and env files for
// every ${VAR} they read. The hub takes every block of the brief as written; what a block needs
// beside it to start (the hub's certificate, Vault's address for key_provider vault, the
// Elasticsearch URL for an elasticsearch audit backend, Jira credentials, the origins a hardware
// key is bound to) is added as a ${VAR} to set, and said. Jaeger's legacy Thrift endpoint becomes
// its OTLP/HTTP receiver. Keys that are no slurmfleet setting are listed, never dropped silently.
import { parse, parseAllDocuments, stringify } from 'yaml';
import { ENV_REF } from '../../shared/config/index.js';
import { ConfigError } from '../../shared/errors/index.js';
import type { Migration } from './s9s-to-fleet.js';

export interface BriefMigrationOptions {
  /** host:port of the hub's gRPC listener the agents stream to. */
  hubEndpoint: string;
  /** Where certificates live on the target machines. */
  pkiDir: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

/** Top-level blocks the hub reads as the brief writes them. */
const HUB_BLOCKS = new Set(['auth', 'sso', 'rbac', 'clusters', 'scaling', 'security', 'compliance', 'observability', 'alerting', 'multi_tenancy', 'backup', 'integrations']);

/** The YAML mappings of a brief-style file: the file itself, or the ```yaml blocks of Markdown. */
export function briefDocuments(text: string, source: string): { blocks: Obj[]; skipped: string[] } {
  const fenced = [...text.matchAll(/^```ya?ml\n([\s\S]*?)^```/gm)].map((m) => m[1]);
  const texts = fenced.length > 0 ? fenced : [text];
  const blocks: Obj[] = [];
  const skipped: string[] = [];
  for (const [i, t] of texts.entries()) {
    for (const doc of parseAllDocuments(t)) {
      if (doc.errors.length > 0) throw new ConfigError(`${source}: ${fenced.length > 0 ? `yaml block ${i + 1}: ` : ''}invalid YAML: ${doc.errors[0].message}`);
      const value = doc.toJS() as unknown;
      if (!isObj(value)) continue;
      if ('apiVersion' in value && 'kind' in value) {
        skipped.push(`a ${String(value.kind)} manifest (${fenced.length > 0 ? `yaml block ${i + 1}` : source}): not a configuration; sfleet deploy render kubernetes --config hub.yaml writes the group's manifests`);
        continue;
      }
      blocks.push(value);
    }
  }
  if (blocks.length === 0) throw new ConfigError(`${source}: no configuration blocks found`);
  return { blocks, skipped };
}

export async function migrateBrief(text: string, source: string, opts: BriefMigrationOptions): Promise<Migration> {
  const out: Migration = { agents: [], hub: {}, mapped: [], unmapped: [], warnings: [], errors: [], hubNotes: ['The brief\'s blocks as written; what they need beside them reads ${VAR}s: set those of hub.env in the hub\'s environment.'] };
  const { blocks, skipped } = briefDocuments(text, source);
  out.unmapped.push(...skipped);
  const hub: Obj = {
    region: 'default',
    listen: { grpc: '0.0.0.0:7443', http: '0.0.0.0:8443' },
    tls: { ca: `${opts.pkiDir}/ca.pem`, cert: `${opts.pkiDir}/hub.pem`, key: `${opts.pkiDir}/hub-key.pem` },
    data_dir: '/var/lib/sfleet-hub',
  };
  for (const block of blocks) {
    for (const [key, value] of Object.entries(block)) {
      if (!HUB_BLOCKS.has(key)) {
        out.unmapped.push(`${key}: not a slurmfleet setting`);
        continue;
      }
      if (key in hub) out.warnings.push(`${key}: given twice; the later block wins`);
      hub[key] = value;
      out.mapped.push(`${key} -> hub.yaml ${key}`);
    }
  }
  const placeholders = new Map<string, string>();
  const need = (name: string, why: string): string => {
    placeholders.set(name, why);
    return `\${${name}}`;
  };
  completeForTheHub(hub, need, out.warnings);
  out.hub = hub;
  out.hubEnvLines = envLines(stringify(hub), placeholders);

  const clusters = isObj(hub.clusters) ? Object.keys(hub.clusters) : [];
  if (clusters.length > 0) {
    const { agentFor } = await import('../agent-for/index.js');
    const hubText = stringify(hub);
    for (const cluster of clusters) {
      try {
        const { text: agentText } = await agentFor(hubText, 'hub.yaml', cluster, { hubs: [opts.hubEndpoint], pkiDir: opts.pkiDir, spoolDir: '/var/lib/sfleet-agent/spool' });
        out.agents.push({ cluster, config: parse(agentText) as Obj, envLines: ['# The slurmrestd JWT of this cluster (scontrol token), read as ${SLURM_JWT}:', 'SLURM_JWT='] });
        out.mapped.push(`clusters.${cluster} -> ${cluster}/agent.yaml`);
      } catch (err) {
        out.errors.push(`clusters.${cluster}: ${(err as Error).message}`);
      }
    }
  }
  return out;
}

/** What the brief's blocks need beside them to start: added as ${VAR}s to set, each said once. */
function completeForTheHub(hub: Obj, need: (name: string, why: string) => string, warnings: string[]): void {
  const at = (o: unknown, ...path: string[]): unknown => path.reduce<unknown>((v, k) => (isObj(v) ? v[k] : undefined), o);
  const section = (o: Obj, key: string): Obj => (isObj(o[key]) ? (o[key] as Obj) : (o[key] = {}));

  const maxHubs = at(hub, 'scaling', 'max_instances');
  if (isObj(hub.scaling) && (maxHubs === undefined || (typeof maxHubs === 'number' && maxHubs > 1)) && !hub.etcd) {
    hub.etcd = { endpoints: [need('SFLEET_ETCD_ENDPOINT', "an etcd member of the region, http(s)://host:2379 (add the others to hub.yaml's etcd.endpoints)")] };
    placeholdersNote(warnings, 'scaling: several hubs are a hub group, which needs etcd: added etcd.endpoints ${SFLEET_ETCD_ENDPOINT}');
  }
  if (at(hub, 'security', 'encryption', 'data_at_rest', 'key_provider') === 'vault' && !at(hub, 'encryption', 'vault')) {
    section(hub, 'encryption').vault = { address: need('VAULT_ADDR', "Vault's address, http(s)://host:port (key_provider vault)"), key_name: 'sfleet', token_env: 'VAULT_TOKEN' };
    placeholdersNote(warnings, 'security.encryption.data_at_rest.key_provider vault: added encryption.vault (address ${VAULT_ADDR}, transit key "sfleet", token from $VAULT_TOKEN)');
    need('VAULT_TOKEN', 'the Vault token the hub uses for the transit key');
  }
  const backend = at(hub, 'compliance', 'audit', 'backend');
  if (backend === 'elasticsearch' && !at(hub, 'audit', 'ship', 'elasticsearch')) {
    section(section(hub, 'audit'), 'ship').elasticsearch = { url: need('ELASTICSEARCH_URL', 'the Elasticsearch the audit records are shipped to (compliance.audit.backend)') };
    placeholdersNote(warnings, 'compliance.audit.backend elasticsearch: added audit.ship.elasticsearch.url ${ELASTICSEARCH_URL}');
  }
  const jaeger = at(hub, 'observability', 'tracing', 'jaeger', 'endpoint');
  if (typeof jaeger === 'string') {
    const url = safeUrl(jaeger);
    if (url && (url.port === '14268' || url.pathname.startsWith('/api/traces'))) {
      const otlp = `${url.protocol}//${url.hostname}:4318`;
      (at(hub, 'observability', 'tracing', 'jaeger') as Obj).endpoint = otlp;
      warnings.push(`observability.tracing.jaeger.endpoint: ${jaeger} is Jaeger's legacy Thrift collector; written as its OTLP/HTTP receiver ${otlp} (enable OTLP on the Jaeger collector)`);
    }
  }
  const jira = at(hub, 'integrations', 'jira');
  if (isObj(jira) && !jira.token && !(jira.username && jira.password)) {
    jira.token = need('JIRA_TOKEN', 'a Jira API token (bearer; or set integrations.jira.username and password)');
    placeholdersNote(warnings, 'integrations.jira: added token ${JIRA_TOKEN} (the brief shows no credentials)');
  }
  const providers = at(hub, 'auth', 'mfa', 'providers');
  const hardware = Array.isArray(providers) ? providers.find((p) => isObj(p) && p.type === 'hardware' && (!p.rp_id || !p.origins)) : undefined;
  if (hardware && !(Array.isArray(at(hub, 'http', 'allowed_origins')) && (at(hub, 'http', 'allowed_origins') as unknown[]).length > 0)) {
    section(hub, 'http').allowed_origins = [need('SFLEET_PUBLIC_ORIGIN', "the dashboard's https origin as browsers see it, e.g. https://fleet.company.com:8443 (the hardware key is bound to it)")];
    placeholdersNote(warnings, 'auth.mfa.providers hardware: added http.allowed_origins ${SFLEET_PUBLIC_ORIGIN}, the origin the keys are bound to');
  }
  if (at(hub, 'backup', 'encryption') === true && !at(hub, 'security', 'encryption', 'data_at_rest') && !at(hub, 'encryption')) {
    warnings.push('backup.encryption true uses the encryption at rest, which this file does not turn on: add security.encryption.data_at_rest (or give backup.encryption a provider)');
  }
}

function placeholdersNote(warnings: string[], text: string): void {
  warnings.push(`${text}: set it in hub.env`);
}

function safeUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/** hub.env: every ${VAR} hub.yaml reads, empty, with what it is for where known. */
function envLines(hubText: string, why: Map<string, string>): string[] {
  const names = new Set<string>([...why.keys()]);
  for (const m of hubText.matchAll(new RegExp(ENV_REF.source, 'g'))) names.add(/^\$\{([A-Za-z_][A-Za-z0-9_]*)/.exec(m[0])![1]);
  const lines = ['# The environment of the hub: hub.yaml reads each of these as ${VAR}. Keep this file 0600.'];
  for (const name of [...names].sort()) {
    if (why.has(name)) lines.push(`# ${why.get(name)}`);
    lines.push(`${name}=`);
  }
  return lines;
}
