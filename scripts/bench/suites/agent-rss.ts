// 3b. Agent memory: VmRSS of a real agent process idle (a small simulated cluster, polled every
// second, nothing to do but notice that) and its peak (VmHWM) polling a big simulated cluster
// (v0.0.38, pretty-printed as slurmrestd sends it: ~3.2 KB per job, so /jobs is ~320 MB at
// 100,000 jobs; the agent reads it as it arrives, one job at a time).
import { startSimulator } from '../../../sim/index.js';
import { sleep } from '../../../test/harness/index.js';
import { fullSizeTarget, measured, round, type BenchContext, type Measured } from '../lib/context.js';
import { startAgentChild, startHubChild, simSlurm } from '../lib/parts.js';
import { cpuSeconds, memory } from '../lib/proc.js';
import { Child } from '../lib/rpc.js';
import { AGENT_ENV, AGENT_NODE_FLAGS } from './agent-flags.js';

export async function agentRssBench(ctx: BenchContext): Promise<Measured[]> {
  const out: Measured[] = [];
  const hub = await startHubChild(ctx, 'rss-hub');
  try {
    await idle(ctx, hub.ready.grpc, out);
    await big(ctx, hub.ready.grpc, out);
  } catch (err) {
    // What was measured before the failure still counts.
    throw Object.assign(err as Error, { partial: out });
  } finally {
    await hub.stop();
  }
  return out;
}

async function idle(ctx: BenchContext, hub: string, out: Measured[]): Promise<void> {
  const seconds = ctx.quick ? 3 : 10;
  const small = await startSimulator({ listen: '127.0.0.1:0', cluster: 'idle', nodes: 64, jobs: 200, apiVersion: 'v0.0.41', log: () => undefined });
  const agent = await startAgentChild(ctx, { cluster: 'idle', hubs: [hub], slurm: simSlurm(small.url), pollInterval: '1s', execArgv: [...AGENT_NODE_FLAGS], env: AGENT_ENV });
  try {
    await agent.call('settle', { timeoutMs: 60_000 });
    await sleep(seconds * 1000);
    const m = memory(agent.pid);
    ctx.log(`agent rss: idle ${m.rssMiB.toFixed(1)} MiB (peak ${m.hwmMiB.toFixed(1)} MiB)`);
    out.push(measured(ctx, 'agent_rss_idle_mib', round(m.rssMiB, 1), 'MiB', { target: '<= 70', met: m.rssMiB <= 70, note: `VmRSS after ${seconds} s of 1 s polls (200 jobs); VmHWM ${m.hwmMiB.toFixed(0)} MiB` }));
  } finally {
    await agent.stop();
    await small.close();
  }
}

async function big(ctx: BenchContext, hub: string, out: Measured[]): Promise<void> {
  const jobs = ctx.quick ? 20_000 : 100_000;
  // The simulator in its own process (rendering this many jobs is heavy); polls driven by us.
  const sim = await Child.start<{ url: string; jobs: number }>(
    'sim',
    { listen: '127.0.0.1:0', cluster: 'big', nodes: 2000, jobs, apiVersion: 'v0.0.38', tickMs: 0, arrivalPerMin: 0, nodeFailurePerHour: 0 },
    { timeoutMs: 300_000, execArgv: ['--max-old-space-size=8192'] },
  );
  const agent = await startAgentChild(ctx, { cluster: 'big', hubs: [hub], slurm: { ...simSlurm(sim.ready.url), timeout: '300s' }, pollInterval: '1h', execArgv: [...AGENT_NODE_FLAGS], env: AGENT_ENV });
  try {
    await agent.call('settle', { timeoutMs: 600_000 });
    const polls = ctx.quick ? 1 : 2;
    const cpu0 = cpuSeconds(agent.pid);
    for (let i = 0; i < polls; i++) {
      await sim.call('change', { jobs: jobs / 100 });
      await agent.call('poll', { timeoutMs: 600_000 });
    }
    const cpuPerPoll = (cpuSeconds(agent.pid) - cpu0) / polls;
    const m = memory(agent.pid);
    ctx.log(`agent rss: ${sim.ready.jobs} jobs: peak ${m.hwmMiB.toFixed(0)} MiB, now ${m.rssMiB.toFixed(0)} MiB; agent CPU ${cpuPerPoll.toFixed(2)} s per changed poll`);
    out.push(
      measured(ctx, 'agent_rss_100k_jobs_mib', round(m.hwmMiB, 1), 'MiB', {
        ...fullSizeTarget(ctx, '<= 250', m.hwmMiB <= 250),
        note: `at ${sim.ready.jobs} jobs: VmHWM over ${polls + 1} full polls; VmRSS after ${m.rssMiB.toFixed(0)} MiB; agent CPU ${cpuPerPoll.toFixed(2)} s per poll`,
      }),
    );
  } finally {
    await agent.stop();
    await sim.stop(30_000);
  }
}
