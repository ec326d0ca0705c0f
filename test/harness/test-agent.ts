// An agent's config as the integration tests, the benchmarks and chaos write it, and an agent
// started from it in this process. Only the keys given are set: the rest keep the schema's
// defaults (hub backoff 250 ms .. 15 s, the host's name).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentConfigSchema } from '../../agent/config/index.js';
import { startAgent, type RunningAgent } from '../../agent/main.js';
import type { TlsFiles } from '../../shared/tls/index.js';

export interface TestAgentConfig {
  cluster: string;
  /** The agent's name (config `name`); the schema's default, the host's name, when omitted. */
  name?: string;
  /** hub.endpoints: host:port of each hub (or of a proxy before it). */
  endpoints: string[];
  /** hub.initial_backoff and hub.max_backoff, e.g. ['100ms', '500ms']. */
  backoff?: [initial: string, max: string];
  /** hub.connect_timeout, e.g. '1s' (chaos). */
  connectTimeout?: string;
  tls: TlsFiles & { renew_at?: number; renewed_dir?: string };
  /** slurm: section; default `{ source: 'cli' }` (a test's ScriptedSource stands in for it). */
  slurm?: Record<string, unknown>;
  /** poll_interval; default 200ms. */
  pollInterval?: string;
  /** spool_dir; default a fresh directory under the system's tmpdir. */
  spoolDir?: string;
  /** Further top-level keys (encryption:, log_level:...). */
  extra?: Record<string, unknown>;
}

/** The raw config (what agent.yaml holds), before the schema fills its defaults. */
export function agentConfig(c: TestAgentConfig): Record<string, unknown> {
  return {
    cluster: c.cluster,
    ...(c.name === undefined ? {} : { name: c.name }),
    hub: { endpoints: c.endpoints, ...(c.backoff ? { initial_backoff: c.backoff[0], max_backoff: c.backoff[1] } : {}), ...(c.connectTimeout ? { connect_timeout: c.connectTimeout } : {}) },
    tls: c.tls,
    slurm: c.slurm ?? { source: 'cli' },
    poll_interval: c.pollInterval ?? '200ms',
    spool_dir: c.spoolDir ?? mkdtempSync(join(tmpdir(), 'spool-')),
    ...c.extra,
  };
}

/** Parses agentConfig(c) with the agent's schema and starts the agent in this process. */
export function startTestAgent(c: TestAgentConfig, deps: Parameters<typeof startAgent>[1]): Promise<RunningAgent> {
  return startAgent(agentConfigSchema.parse(agentConfig(c)), deps);
}
