// 3a. Agent cost, run by the bench under the local-Slurm lock: `node agent-cost.js '<json>'`.
// The real Slurm 22.05 holds N jobs (held, submitted here, cancelled afterwards); a real agent
// polls the real slurmrestd (v0.0.38, JWT). For polls where one job changed (so /jobs is a full
// 200 answer), the agent process's CPU time for the whole cycle (fetch, parse, normalize, diff,
// spool, send, ack) against slurmrestd's CPU time over the same cycle, both from /proc/<pid>/stat.
// Prints one JSON line: the measurements.
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import type { TlsFiles } from '../../shared/tls/index.js';
import type { BenchContext, BenchPki } from './lib/context.js';
import { startAgentChild, startHubChild } from './lib/parts.js';
import { cpuSeconds } from './lib/proc.js';
import { ensureSlurm, run, type SlurmEnv } from './lib/slurm.js';
import { AGENT_ENV, AGENT_NODE_FLAGS } from './suites/agent-flags.js';

interface Args {
  quick: boolean;
  workDir: string;
  profile: boolean;
  jobs: number;
  polls: number;
  pki: { dir: string; ca: string; hub: TlsFiles; client: TlsFiles; agent: TlsFiles };
}

const JOB_NAME = 'sfleet-bench';
const CLUSTER = 'slurm-local';

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Jobs slurmctld holds now (any state, finished ones until purged). */
async function jobRecords(env: SlurmEnv): Promise<number> {
  const out = await run('squeue', ['-h', '-t', 'all', '-o', '%i'], env.cliEnv);
  return out.split('\n').filter((l) => l.trim()).length;
}

async function submitHeld(env: SlurmEnv, n: number): Promise<number[]> {
  const ids: number[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      next++;
      const out = await run('sbatch', ['--parsable', '--hold', '-p', 'debug', '-J', JOB_NAME, '--chdir=/tmp', '--output=/dev/null', '--wrap', 'sleep 1000'], env.cliEnv, 60_000);
      ids.push(Number.parseInt(out.trim().split(';')[0], 10));
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
  return ids;
}

async function main(): Promise<void> {
  log('agent cost: got the Slurm lock');
  const args = JSON.parse(process.argv[2]) as Args;
  const pki: BenchPki = { dir: args.pki.dir, ca: args.pki.ca, hub: args.pki.hub, client: args.pki.client, agent: async () => args.pki.agent };
  const ctx: BenchContext = { quick: args.quick, pki, workDir: args.workDir, profile: args.profile, log };
  const env = await ensureSlurm(log);
  const before = await jobRecords(env);
  const t0 = Date.now();
  // At least one job of ours: a poll needs one change to make slurmctld answer with the full list.
  const ids = await submitHeld(env, Math.max(1, Math.min(args.jobs - before, 40_000 - before)));
  const records = await jobRecords(env);
  log(`agent cost: ${before} jobs in slurmctld, submitted ${ids.length} held in ${((Date.now() - t0) / 1000).toFixed(1)} s -> ${records}`);
  const hub = await startHubChild(ctx, 'cost-hub');
  const agent = await startAgentChild(ctx, {
    cluster: CLUSTER,
    hubs: [hub.ready.grpc],
    slurm: { source: 'rest', endpoints: [env.restUrl], auth: { user: 'root', token: env.jwt }, api_version: 'v0.0.38', timeout: '180s' },
    pollInterval: '1h',
    spoolDir: mkdtempSync(join(args.workDir, 'cost-spool-')),
    env: AGENT_ENV,
    execArgv: [...AGENT_NODE_FLAGS, ...(args.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(args.workDir, 'profiles')}`, '--cpu-prof-name=agent-cost.cpuprofile'] : [])],
  });
  const samples: { agent: number; rest: number; ms: number; changes: number }[] = [];
  try {
    await agent.call('settle', { timeoutMs: 300_000 });
    const target = ids[0] ?? Number((await run('squeue', ['-h', '-o', '%i', '-u', 'root', '-n', JOB_NAME], env.cliEnv)).split('\n')[0]);
    for (let i = 0; i < args.polls; i++) {
      // One changed job moves slurmctld's last_update: the poll gets the full /jobs answer.
      await run('scontrol', ['update', `jobid=${target}`, `comment=bench-${Date.now()}-${i}`], env.cliEnv);
      const a0 = cpuSeconds(agent.pid);
      const r0 = cpuSeconds(env.restPid);
      const r = await agent.call<{ changes: number; ms: number }>('poll', { timeoutMs: 300_000 });
      samples.push({ agent: cpuSeconds(agent.pid) - a0, rest: cpuSeconds(env.restPid) - r0, ms: r.ms, changes: r.changes });
    }
  } finally {
    await agent.stop();
    await hub.stop();
    // Only what we submitted: held jobs of this name.
    await run('scancel', ['-u', 'root', '--name', JOB_NAME, '--state', 'PENDING'], env.cliEnv).catch((err: Error) => log(`agent cost: scancel: ${err.message}`));
  }
  process.stdout.write(`${JSON.stringify({ records, submitted: ids.length, samples })}\n`);
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    log(`agent cost failed: ${err.stack ?? err.message}`);
    process.exit(1);
  },
);
