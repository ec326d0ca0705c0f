// Starting the measured parts: a real hub and a real agent, each in its own process.
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { agentConfig } from '../../../test/harness/index.js';
import type { BenchContext } from './context.js';
import { Child } from './rpc.js';

export interface HubReady {
  grpc: string;
  http: string;
  startMs: number;
}

export interface HubOptions {
  dataDir?: string;
  grpc?: string;
  http?: string;
  heartbeat?: string;
  /** Node flags for the hub process (e.g. --cpu-prof). */
  execArgv?: string[];
}

export async function startHubChild(ctx: BenchContext, name: string, opts: HubOptions = {}): Promise<Child<HubReady> & { dataDir: string }> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(ctx.workDir, `${name}-data-`));
  // SFLEET_BENCH_HUB_FLAGS: extra node flags for every hub (e.g. --trace-gc), for investigations.
  const extra = (process.env.SFLEET_BENCH_HUB_FLAGS ?? '').split(' ').filter(Boolean);
  const execArgv = [...(opts.execArgv ?? (ctx.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(ctx.workDir, 'profiles')}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`] : [])), ...extra];
  const hub = await Child.start<HubReady>(
    'hub',
    {
      hub_id: name,
      listen: { grpc: opts.grpc ?? '127.0.0.1:0', http: opts.http ?? '127.0.0.1:0' },
      tls: ctx.pki.hub,
      data_dir: dataDir,
      ...(opts.heartbeat ? { stream: { heartbeat_interval: opts.heartbeat } } : {}),
    },
    { execArgv, timeoutMs: 300_000 },
  );
  return Object.assign(hub, { dataDir });
}

export interface AgentOptions {
  cluster: string;
  hubs: string[];
  slurm: Record<string, unknown>;
  pollInterval: string;
  spoolDir?: string;
  execArgv?: string[];
  /** Environment variables added to the agent process's (e.g. AGENT_ENV). */
  env?: Readonly<Record<string, string>>;
}

export interface AgentReady {
  pid: number;
}

export async function startAgentChild(ctx: BenchContext, opts: AgentOptions): Promise<Child<AgentReady>> {
  const tls = await ctx.pki.agent(opts.cluster);
  return Child.start<AgentReady>(
    'agent',
    agentConfig({
      cluster: opts.cluster,
      name: 'bench-agent',
      endpoints: opts.hubs,
      tls,
      slurm: opts.slurm,
      pollInterval: opts.pollInterval,
      spoolDir: opts.spoolDir ?? mkdtempSync(join(ctx.workDir, `spool-${opts.cluster}-`)),
      extra: { log_level: 'info' },
    }),
    { execArgv: opts.execArgv ?? [], env: opts.env ? { ...process.env, ...opts.env } : undefined, timeoutMs: 120_000 },
  );
}

/** slurm: settings for an agent reading a simulator (any token: the simulator takes any). */
export function simSlurm(url: string): Record<string, unknown> {
  return { source: 'rest', endpoints: [url], auth: { user: 'root', token: 'bench' }, simulator: true };
}
