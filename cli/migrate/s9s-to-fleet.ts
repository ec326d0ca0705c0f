// Maps an s9s configuration to slurmfleet's: one agent configuration per s9s cluster (each goes
// to that cluster's head node with its own agent.env holding the token), and one hub
// configuration whose roles carry s9s's per-cluster readOnly. Every key of the s9s file is
// either mapped or named in `unmapped` with the reason, so nothing is dropped silently.
import { parseDuration } from '../../shared/model/time.js';
import { SUPPORTED_VERSIONS } from '../../agent/normalize/index.js';
import type { S9sCluster, S9sConfig } from './s9s-config.js';

export interface MigrationOptions {
  /** host:port of the hub's gRPC listener the agents stream to. */
  hubEndpoint: string;
  /** Where certificates live on the target machines. */
  pkiDir: string;
  /** Resolves the `${VAR}`s of s9s tokens (s9s expands them from its environment). */
  env: NodeJS.ProcessEnv;
}

export interface AgentMigration {
  cluster: string;
  /** The agent YAML document (tokens as ${SLURM_JWT}, never literal). */
  config: Record<string, unknown>;
  /** The agent.env lines (0600 on disk): the token, or a comment saying it must be set. */
  envLines: string[];
}

export interface Migration {
  agents: AgentMigration[];
  hub: Record<string, unknown>;
  /** What was mapped, as "s9s key -> where" lines. */
  mapped: string[];
  /** Each s9s key that has no home, with the reason. */
  unmapped: string[];
  /** Things the operator must do or know (an insecure endpoint, a token to set). */
  warnings: string[];
  /** Clusters that cannot be migrated (bad name or endpoint): the rest still are. */
  errors: string[];
  /** hub.env lines (0600 on disk): the ${VAR}s hub.yaml reads; none written when absent. */
  hubEnvLines?: string[];
  /** The first comment lines of hub.yaml after where it came from. */
  hubNotes?: string[];
}

const TOKEN_VAR = 'SLURM_JWT';
const CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const ENDPOINT = /^https?:\/\/[^\s/]+(\/.*)?$/;
const ENV_REF = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

// Keys s9s has that are about its terminal UI: what slurmfleet offers instead.
const UI_KEYS: Record<string, string> = {
  ui: 'terminal UI appearance: the dashboard has its own themes (light/dark, UTC or local time)',
  views: 'terminal UI views and columns: the dashboard and `sfleet jobs|nodes -o wide` choose their own',
  features: 's9s feature flags: live updates are always on (watch stream)',
  shortcuts: 'terminal UI key bindings: the dashboard documents its own keys',
  aliases: 'terminal UI command aliases: use shell aliases for sfleet',
  plugins: 's9s plugins (.so files) cannot run in slurmfleet',
};

const READ_PERMISSIONS = ['cluster:read', 'jobs:read', 'nodes:read', 'watch:read'];
const OPERATE_PERMISSIONS = ['cluster:read', 'jobs:*', 'nodes:*', 'watch:read'];

/** A role name from a cluster name: role names start with a letter. */
export function roleFor(cluster: string, readOnly: boolean): string {
  return `s9s_${cluster}_${readOnly ? 'readonly' : 'operator'}`;
}

/** The user a Slurm JWT was issued for (its `sun` claim), read without verifying it. */
function jwtUser(token: string): string | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sun?: unknown };
    return typeof claims.sun === 'string' && claims.sun !== '' ? claims.sun : undefined;
  } catch {
    return undefined;
  }
}

/** s9s's Go duration as the agent config writes it ("30s" stays "30s"), or undefined. */
function goDuration(value: string | number | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  try {
    parseDuration(value);
    return typeof value === 'number' ? `${value}s` : value.trim();
  } catch {
    return undefined;
  }
}

function migrateCluster(c: S9sCluster, i: number, top: S9sConfig, opts: MigrationOptions, out: Migration): void {
  const at = `clusters[${i}]`;
  if (!CLUSTER_NAME.test(c.name)) {
    out.errors.push(`${at}.name: "${c.name}" is not a Slurm cluster name slurmfleet accepts (letters, digits, . _ -, at most 63): not migrated`);
    return;
  }
  if (!ENDPOINT.test(c.cluster.endpoint)) {
    out.errors.push(`${at}.cluster.endpoint: "${c.cluster.endpoint}" is not http(s)://host:port: cluster ${c.name} not migrated`);
    return;
  }
  const slurm: Record<string, unknown> = { source: 'rest', endpoints: [c.cluster.endpoint] };
  const file = `${c.name}/agent.yaml`;
  out.mapped.push(`${at}.cluster.endpoint -> ${file} slurm.endpoints[0]`);

  // The token goes to agent.env, the YAML only names it.
  const envLines = [`# slurmfleet agent of cluster ${c.name}, migrated from s9s: mode 0600, never commit it`];
  let tokenValue: string | undefined;
  const token = c.cluster.token;
  if (token === undefined || token === '') {
    out.warnings.push(`${c.name}: s9s has no token for this cluster; set ${TOKEN_VAR} in ${c.name}/agent.env (a Slurm JWT, e.g. scontrol token)`);
    envLines.push(`${TOKEN_VAR}=`);
  } else {
    const ref = ENV_REF.exec(token);
    tokenValue = ref ? opts.env[ref[1]] : token;
    if (tokenValue === undefined || tokenValue === '') {
      out.warnings.push(`${c.name}: the token is \${${ref?.[1]}}, not set where migrate ran; set ${TOKEN_VAR} in ${c.name}/agent.env`);
      envLines.push(`# s9s read the token from \${${ref?.[1]}}`, `${TOKEN_VAR}=`);
    } else {
      envLines.push(`${TOKEN_VAR}=${tokenValue}`);
    }
    out.mapped.push(`${at}.cluster.token -> ${c.name}/agent.env ${TOKEN_VAR} (referenced as \${${TOKEN_VAR}})`);
  }
  const user = c.cluster.user ?? (tokenValue ? jwtUser(tokenValue) : undefined);
  slurm.auth = user ? { user, token: `\${${TOKEN_VAR}}` } : { token: `\${${TOKEN_VAR}}` };
  if (c.cluster.user) out.mapped.push(`${at}.cluster.user -> ${file} slurm.auth.user`);
  else if (user) out.mapped.push(`${at}: the token's user "${user}" -> ${file} slurm.auth.user`);
  else out.warnings.push(`${c.name}: no user known for the token (s9s uses the OS user); the agent sends "root": set slurm.auth.user if the token is another user's`);

  const version = c.cluster.apiVersion;
  if (version !== undefined) {
    if ((SUPPORTED_VERSIONS as readonly string[]).includes(version)) {
      slurm.api_version = version;
      out.mapped.push(`${at}.cluster.apiVersion -> ${file} slurm.api_version`);
    } else {
      out.unmapped.push(`${at}.cluster.apiVersion: ${version} is not one the agent speaks (${SUPPORTED_VERSIONS.join(', ')}): left out, the agent picks the newest the server offers`);
    }
  }
  if (c.cluster.insecure === true) {
    slurm.tls = { insecure: true };
    out.mapped.push(`${at}.cluster.insecure -> ${file} slurm.tls.insecure`);
    out.warnings.push(`${c.name}: insecure: the agent accepts any certificate from slurmrestd and sends it the JWT; set slurm.tls.ca_file instead`);
  } else if (c.cluster.insecure === false) {
    out.mapped.push(`${at}.cluster.insecure -> ${file} (certificate checked: the default)`);
  }
  const timeout = goDuration(c.cluster.timeout);
  if (timeout !== undefined) {
    slurm.timeout = timeout;
    out.mapped.push(`${at}.cluster.timeout -> ${file} slurm.timeout`);
  } else if (c.cluster.timeout !== undefined) {
    out.unmapped.push(`${at}.cluster.timeout: "${c.cluster.timeout}" is not a duration: the agent's default (60s) applies`);
  }
  for (const key of Object.keys(c.cluster)) {
    if (!['endpoint', 'token', 'apiVersion', 'insecure', 'timeout', 'user'].includes(key)) out.unmapped.push(`${at}.cluster.${key}: unknown to s9s and to slurmfleet`);
  }
  if (c.namespace !== undefined) out.unmapped.push(`${at}.namespace: s9s's own grouping; slurmfleet groups clusters by region and tenant`);
  for (const key of Object.keys(c)) {
    if (!['name', 'cluster', 'namespace', 'readOnly'].includes(key)) out.unmapped.push(`${at}.${key}: unknown to s9s and to slurmfleet`);
  }

  const config: Record<string, unknown> = {
    cluster: c.name,
    hub: { endpoints: [opts.hubEndpoint] },
    tls: { ca: `${opts.pkiDir}/ca.pem`, cert: `${opts.pkiDir}/${c.name}-agent.pem`, key: `${opts.pkiDir}/${c.name}-agent-key.pem` },
    slurm,
    spool_dir: '/var/lib/sfleet-agent/spool',
  };
  const poll = goDuration(top.refreshRate);
  if (poll !== undefined) config.poll_interval = poll;
  out.agents.push({ cluster: c.name, config, envLines });
}

export function migrateS9s(s9s: S9sConfig, opts: MigrationOptions): Migration {
  const out: Migration = { agents: [], hub: {}, mapped: [], unmapped: [], warnings: [], errors: [] };
  const seen = new Set<string>();
  for (const [i, c] of s9s.clusters.entries()) {
    if (seen.has(c.name)) {
      out.errors.push(`clusters[${i}].name: "${c.name}" appears twice: only the first is migrated`);
      continue;
    }
    seen.add(c.name);
    migrateCluster(c, i, s9s, opts, out);
  }

  const poll = goDuration(s9s.refreshRate);
  if (poll !== undefined) out.mapped.push('refreshRate -> each agent.yaml poll_interval (the hub is as fresh as the agent polls)');
  else if (s9s.refreshRate !== undefined) out.unmapped.push(`refreshRate: "${s9s.refreshRate}" turns s9s's refresh off; agents always poll (default 10s)`);
  if (s9s.maxRetries !== undefined) out.unmapped.push('maxRetries: agents retry every poll and fail over between endpoints by themselves (slurm.load_balancing)');
  if (s9s.defaultCluster !== undefined) out.unmapped.push('defaultCluster: sfleet commands show every cluster; name one with --cluster');
  for (const key of Object.keys(s9s)) {
    if (['refreshRate', 'maxRetries', 'defaultCluster', 'clusters'].includes(key)) continue;
    out.unmapped.push(`${key}: ${UI_KEYS[key] ?? 'unknown to slurmfleet'}`);
  }

  // s9s's readOnly is per cluster and per person using it; here it becomes a role per cluster
  // that bindings give to people.
  const roles: Record<string, unknown> = {};
  for (const [i, c] of s9s.clusters.entries()) {
    if (!out.agents.some((a) => a.cluster === c.name)) continue;
    const readOnly = c.readOnly === true;
    roles[roleFor(c.name, readOnly)] = { permissions: [...(readOnly ? READ_PERMISSIONS : OPERATE_PERMISSIONS)], filters: { cluster: c.name } };
    out.mapped.push(`clusters[${i}].readOnly (${readOnly}) -> hub.yaml rbac.roles.${roleFor(c.name, readOnly)} (bind people to it under rbac.bindings)`);
  }
  out.hub = {
    region: 'default',
    listen: { grpc: '0.0.0.0:7443', http: '0.0.0.0:8443' },
    tls: { ca: `${opts.pkiDir}/ca.pem`, cert: `${opts.pkiDir}/hub.pem`, key: `${opts.pkiDir}/hub-key.pem` },
    data_dir: '/var/lib/sfleet-hub',
    // Without a binding nobody could administer the hub once rbac exists.
    rbac: { roles, bindings: [{ client: 'admin', role: 'admin' }] },
  };
  return out;
}
