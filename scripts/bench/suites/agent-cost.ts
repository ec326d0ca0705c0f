// 3a. Agent cost on the real local Slurm: runs agent-cost.js under the Slurm lock and turns its
// samples into the agent's share of slurmrestd's CPU time.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fullSizeTarget, measured, round, type BenchContext, type Measured } from '../lib/context.js';
import { spawnUnderSlurmLock } from '../lib/slurm-lock.js';

const ENTRY = join(dirname(fileURLToPath(import.meta.url)), '..', 'agent-cost.js');

interface Output {
  records: number;
  submitted: number;
  samples: { agent: number; rest: number; ms: number; changes: number }[];
}

export async function agentCostBench(ctx: BenchContext): Promise<Measured[]> {
  const jobs = ctx.quick ? 1_000 : 8_000;
  const polls = ctx.quick ? 2 : 3;
  const args = {
    quick: ctx.quick,
    workDir: ctx.workDir,
    profile: ctx.profile,
    jobs,
    polls,
    pki: { dir: ctx.pki.dir, ca: ctx.pki.ca, hub: ctx.pki.hub, client: ctx.pki.client, agent: await ctx.pki.agent('slurm-local') },
  };
  const { proc, locked } = spawnUnderSlurmLock(process.execPath, [ENTRY, JSON.stringify(args)]);
  ctx.log(`agent cost: ${locked === 'flock' ? 'waiting for /tmp/sfleet-slurm.lock' : 'the Slurm lock is held by our caller'}`);
  let stdout = '';
  const spawned = Date.now();
  let waitedS = 0;
  proc.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => {
    for (const line of c.toString().split('\n')) {
      if (!line.trim()) continue;
      if (line.includes('got the Slurm lock')) waitedS = (Date.now() - spawned) / 1000;
      ctx.log(line);
    }
  });
  const code = await new Promise<number | null>((resolve) => proc.on('exit', (c) => resolve(c)));
  if (code !== 0) throw new Error(`agent-cost exited with ${code}`);
  const out = JSON.parse(stdout.trim().split('\n').pop()!) as Output;
  const agent = out.samples.reduce((n, s) => n + s.agent, 0);
  const rest = out.samples.reduce((n, s) => n + s.rest, 0);
  const share = agent / rest;
  const per = (v: number): string => `${Math.round((1000 * v) / out.samples.length)} ms`;
  ctx.log(`agent cost: ${out.records} jobs, per poll: agent ${per(agent)} CPU, slurmrestd ${per(rest)} CPU, wall ${Math.round(out.samples.reduce((n, s) => n + s.ms, 0) / out.samples.length)} ms`);
  return [
    measured(ctx, 'agent_cpu_share', round(share, 4), 'fraction', {
      ...fullSizeTarget(ctx, '<= 0.10', share <= 0.1),
      note: `${out.records} jobs: agent ${per(agent)} vs slurmrestd ${per(rest)} CPU per full poll (${out.samples.length} polls)${waitedS >= 1 ? `; waited ${waitedS.toFixed(0)} s for the Slurm lock` : ''}`,
    }),
  ];
}
