// The agent's view of one Slurm controller: SlurmSource and the factory that picks the
// slurmrestd or the CLI implementation from the agent config.
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../shared/errors/index.js';
import { CliSource } from './cli/index.js';
import type { SourceDeps } from './deps.js';
import { RestSource } from './slurmrestd/index.js';
import type { SlurmSource } from './source.js';
import { SacctHistoryReader } from './sacct-history/index.js';
import { runSlurm, type SlurmRunner } from './slurm-commands/index.js';

export type { CommandKindName, CommandOutcome, PollResult, SlurmCommand, SlurmSource } from './source.js';
export type { LoggerLike, SourceDeps } from './deps.js';
export type { SlurmRunner } from './slurm-commands/index.js';
export { CliSource, type CliSourceOptions } from './cli/index.js';
export { RestSource, SlurmrestdStats, type RestSourceOptions } from './slurmrestd/index.js';

/** The `slurm:` section of the agent config, as the config schema gives it. */
export interface SlurmConfig {
  source: 'rest' | 'cli';
  /** slurmrestd endpoints, tried in order: `http(s)://host:port` or `unix:/path.sock`. */
  endpoints: string[];
  /** JWT user and token; an empty token sends no auth headers (rest_auth/local socket). */
  auth: { user: string; token: string };
  /** Speak this API version and skip negotiation ("v0.0.41"). */
  api_version?: string;
  /** Per request or per command, in milliseconds. */
  timeout?: number;
  /** The endpoint is the project's slurmrestd simulator: commands without REST go to it. */
  simulator?: boolean;
  cli?: { bin_dir?: string };
  /** https endpoints: the CA to trust (a PEM file), or no check at all. */
  tls?: { ca_file?: string; insecure?: boolean };
  /** Several endpoints: which one is used, health checks (ms) and when one counts as down. */
  load_balancing?: { strategy: 'failover' | 'round_robin'; health_check_interval: number; failover_threshold: number };
}

export function createSlurmSource(config: { cluster: string; slurm: SlurmConfig }, deps: SourceDeps = {}): SlurmSource {
  const { cluster, slurm } = config;
  if (!cluster) throw new ConfigError('cluster: a cluster name is required');
  if (slurm.timeout !== undefined && !(Number.isFinite(slurm.timeout) && slurm.timeout > 0)) {
    throw new ConfigError('slurm.timeout: must be a positive number of milliseconds');
  }
  if (slurm.source === 'cli') {
    return new CliSource({ cluster, binDir: slurm.cli?.bin_dir, timeoutMs: slurm.timeout }, deps);
  }
  if (slurm.source !== 'rest') throw new ConfigError(`slurm.source: must be "rest" or "cli", got "${String(slurm.source)}"`);
  if (!slurm.endpoints?.length) throw new ConfigError('slurm.endpoints: at least one slurmrestd endpoint is required');
  const tls = slurmTls(slurm.tls, slurm.endpoints, deps);
  try {
    return new RestSource(
      {
        cluster,
        endpoints: slurm.endpoints,
        auth: slurm.auth?.token ? { user: slurm.auth.user, token: slurm.auth.token } : undefined,
        apiVersion: slurm.api_version,
        timeoutMs: slurm.timeout,
        simulator: slurm.simulator,
        binDir: slurm.cli?.bin_dir,
        tls,
        loadBalancing: slurm.load_balancing && {
          strategy: slurm.load_balancing.strategy,
          healthCheckIntervalMs: slurm.load_balancing.health_check_interval,
          failoverThreshold: slurm.load_balancing.failover_threshold,
        },
      },
      deps,
    );
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`slurm.endpoints: ${(err as Error).message}`);
  }
}

/** The CA read once at start (a missing file is a config error, not a poll failure later). */
function slurmTls(tls: SlurmConfig['tls'], endpoints: string[], deps: SourceDeps): { ca?: string; insecure: boolean } | undefined {
  if (!tls || (!tls.ca_file && !tls.insecure)) return undefined;
  if (!endpoints.some((e) => e.startsWith('https:'))) {
    throw new ConfigError('slurm.tls: set only for https:// slurmrestd endpoints, and none is https');
  }
  if (tls.insecure) {
    deps.logger?.warn({ endpoints: endpoints.filter((e) => e.startsWith('https:')) }, 'slurm.tls.insecure: the slurmrestd certificate is not checked; the Slurm JWT goes to whoever answers');
    return { insecure: true };
  }
  try {
    return { ca: readFileSync(tls.ca_file!, 'utf8'), insecure: false };
  } catch (err) {
    throw new ConfigError(`slurm.tls.ca_file: cannot read ${tls.ca_file}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
}

/**
 * The reader of finished runs for the hub's history backfill: sacct on this head node, in the
 * Slurm binaries' directory of the config, with a generous output cap (a day of a busy cluster).
 */
export function createHistoryReader(config: { cluster: string; slurm: SlurmConfig }, deps: SourceDeps = {}): SacctHistoryReader {
  const run: SlurmRunner =
    deps.run ??
    ((binary, args, signal) =>
      runSlurm(binary, args, {
        binDir: config.slurm.cli?.bin_dir,
        timeoutMs: Math.max(config.slurm.timeout ?? 0, 60_000),
        maxOutputBytes: 256 * 1024 * 1024,
        // Epoch seconds: no local time zone, no ambiguity in a DST hour.
        env: { ...(deps.env ?? process.env), SLURM_TIME_FORMAT: '%s' },
        signal,
      }));
  return new SacctHistoryReader({ run, cluster: config.cluster });
}
