// `sfleet config agent-for CLUSTER --config hub.yaml`: the agent.yaml of a cluster the hub's
// `clusters:` map declares. Its slurmrestd endpoints and load_balancing are copied as the hub
// file writes them (durations stay "30s"), the hubs are the ones it should stream to, and the
// certificate paths are those `sfleet ca issue --name CLUSTER-agent` writes. The Slurm JWT is
// only named (${SLURM_JWT}): it belongs in the agent's environment, never in a file we write.
import { parseDocument, stringify } from 'yaml';
import { ConfigError } from '../../shared/errors/index.js';

export interface AgentForOptions {
  /** host:port of the hubs' gRPC listeners; empty: the hub file's listen.grpc, unless it is a wildcard. */
  hubs: string[];
  /** Where the certificates live on the cluster's head node. */
  pkiDir: string;
  spoolDir: string;
}

export interface AgentFor {
  config: Record<string, unknown>;
  /** agent.yaml as written: a header saying where it came from, then the config. */
  text: string;
}

const WILDCARD = /^(0\.0\.0\.0|\[::\]|::):/;
export const TOKEN_VAR = 'SLURM_JWT';

type Raw = { clusters?: Record<string, Record<string, unknown>>; listen?: { grpc?: string }; security?: { encryption?: { tls?: unknown } } };

export async function agentFor(hubText: string, hubFile: string, cluster: string, opts: AgentForOptions): Promise<AgentFor> {
  const { validateConfigText } = await import('../../shared/config/index.js');
  const { hubConfigSchema } = await import('../../hub/config/index.js');
  const { agentConfigSchema } = await import('../../agent/config/index.js');
  const problems = validateConfigText(hubConfigSchema, hubText, hubFile, { requireEnv: false });
  if (problems.length > 0) throw new ConfigError(`${hubFile} is not a valid hub configuration:\n${problems.join('\n')}`);
  const raw = (parseDocument(hubText).toJS() ?? {}) as Raw;
  const declared = raw.clusters ?? {};
  const entry = declared[cluster];
  if (!entry) {
    const names = Object.keys(declared);
    throw new ConfigError(`cluster "${cluster}" is not declared in ${hubFile}: ${names.length > 0 ? `its clusters: map declares ${names.join(', ')}` : 'it has no clusters: map'} (add clusters.${cluster}.endpoints there first)`);
  }
  const grpc = raw.listen?.grpc ?? '127.0.0.1:7443';
  if (opts.hubs.length === 0 && WILDCARD.test(grpc)) {
    throw new ConfigError(`${hubFile}: listen.grpc is ${grpc}, an address the agent cannot dial: name the hubs with --hub host:port (repeatable)`);
  }
  const slurm: Record<string, unknown> = { source: 'rest', endpoints: entry.endpoints, auth: { token: `\${${TOKEN_VAR}}` } };
  if (entry.load_balancing !== undefined) slurm.load_balancing = entry.load_balancing;
  const config: Record<string, unknown> = {
    cluster,
    hub: { endpoints: opts.hubs.length > 0 ? opts.hubs : [grpc] },
    tls: { ca: `${opts.pkiDir}/ca.pem`, cert: `${opts.pkiDir}/${cluster}-agent.pem`, key: `${opts.pkiDir}/${cluster}-agent-key.pem` },
    slurm,
    spool_dir: opts.spoolDir,
  };
  // The hub's TLS policy (version, TLS 1.3 suites) holds for its agents' connections too.
  const tls = raw.security?.encryption?.tls;
  if (tls !== undefined) config.security = { encryption: { tls } };
  const text =
    [
      `# slurmfleet agent of cluster ${cluster}, written from ${hubFile} (clusters.${cluster}) by sfleet config agent-for.`,
      `# Set ${TOKEN_VAR} (a Slurm JWT: scontrol token) in its environment; certificates: sfleet ca issue --role agent --name ${cluster}-agent --cluster ${cluster}.`,
    ].join('\n') +
    '\n' +
    stringify(config, { aliasDuplicateObjects: false });
  const agentProblems = validateConfigText(agentConfigSchema, text, `${cluster}/agent.yaml`, { requireEnv: false });
  if (agentProblems.length > 0) throw new ConfigError(`the agent configuration written for ${cluster} does not validate:\n${agentProblems.join('\n')}`);
  return { config, text };
}
