// The single binary users install (issue 17): its size (ceiling 150 MB) and how long
// `sfleet --version` takes to answer (target <= 300 ms), the median of several runs, with the
// embedded Node's own `node -e 0` measured in the same run beside it (the floor no bundle
// can beat on this machine). Builds the x64 binary with the registry's Node first (~30 s).
// And the agent as users run it: `sfleet agent` of this binary under the systemd unit's
// settings, idle (the agent-rss suite measures the agent's own code in a bare Node process).
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startSimulator } from '../../../sim/index.js';
import { agentConfig, ROOT, sleep } from '../../../test/harness/index.js';
import { measured, round, type BenchContext, type Measured } from '../lib/context.js';
import { simSlurm, startHubChild } from '../lib/parts.js';
import { memory } from '../lib/proc.js';
import { AGENT_ENV, AGENT_NODE_FLAGS } from './agent-flags.js';

const run = promisify(execFile);

async function medianMs(file: string, args: string[], runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await run(file, args);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

export async function binaryBench(ctx: BenchContext): Promise<Measured[]> {
  const out = join(ctx.workDir, 'sfleet-linux-x64');
  await run('bash', ['scripts/release/build-binary.sh', '--arch', 'x64', '--out', out], { cwd: ROOT, maxBuffer: 16 << 20 });
  const version = execFileSync('cat', [join(ROOT, 'scripts/release/node-version')], { encoding: 'utf8' }).trim();
  const node = execFileSync('bash', [join(ROOT, 'scripts/release/fetch-node.sh'), version, 'x64'], { encoding: 'utf8' }).trim();
  const sizeMb = statSync(out).size / 1e6;
  const runs = ctx.quick ? 5 : 21;
  await run(out, ['--version']); // page cache warm, as for a user's second call
  const versionMs = await medianMs(out, ['--version'], runs);
  const nodeMs = await medianMs(node, ['-e', '0'], runs);
  const agentRss = await binaryAgentIdleRss(ctx, out);
  const nodeRss = await bareNodeRss(node);
  return [
    measured(ctx, 'binary_size_mb', round(sizeMb, 1), 'MB', { target: '<= 150', met: sizeMb <= 150, note: `linux-x64, Node ${version} embedded, stripped` }),
    measured(ctx, 'binary_version_ms', round(versionMs, 1), 'ms', { target: '<= 300', met: versionMs <= 300, note: `median of ${runs}; bare node -e 0 of the same Node: ${round(nodeMs, 1)} ms` }),
    measured(ctx, 'binary_agent_rss_idle_mib', round(agentRss.rssMiB, 1), 'MiB', {
      target: '<= 70',
      met: agentRss.rssMiB <= 70,
      note: `\`sfleet agent\` of the binary, NODE_OPTIONS and GLIBC_TUNABLES of deploy/systemd/sfleet-agent.service, after ${agentRss.seconds} s of 1 s polls (200 jobs); VmHWM ${agentRss.hwmMiB.toFixed(0)} MiB; the same Node doing nothing: ${nodeRss.toFixed(1)} MiB`,
    }),
  ];
}

/** VmRSS of the embedded Node doing nothing, with the agent's flags: the floor under the agent's figure. */
async function bareNodeRss(node: string): Promise<number> {
  const idle = spawn(node, [...AGENT_NODE_FLAGS, '-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore', env: { ...process.env, ...AGENT_ENV } });
  try {
    await sleep(2000);
    return memory(idle.pid!).rssMiB;
  } finally {
    idle.kill('SIGTERM');
  }
}

/** The binary's `sfleet agent` polling a small simulated cluster into a hub, idle: VmRSS. */
async function binaryAgentIdleRss(ctx: BenchContext, binary: string): Promise<{ rssMiB: number; hwmMiB: number; seconds: number }> {
  const seconds = ctx.quick ? 5 : 15;
  const hub = await startHubChild(ctx, 'binary-agent-hub');
  const sim = await startSimulator({ listen: '127.0.0.1:0', cluster: 'binary-idle', nodes: 64, jobs: 200, apiVersion: 'v0.0.41', log: () => undefined });
  const dir = mkdtempSync(join(ctx.workDir, 'binary-agent-'));
  const config = agentConfig({
    cluster: 'binary-idle',
    name: 'binary-agent',
    endpoints: [hub.ready.grpc],
    tls: await ctx.pki.agent('binary-idle'),
    slurm: simSlurm(sim.url),
    pollInterval: '1s',
    spoolDir: join(dir, 'spool'),
    extra: { log_level: 'warn' },
  });
  writeFileSync(join(dir, 'agent.json'), JSON.stringify(config));
  const agent = spawn(binary, ['agent', '--config', join(dir, 'agent.json')], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...AGENT_ENV, NODE_OPTIONS: AGENT_NODE_FLAGS.join(' ') },
  });
  let stderr = '';
  agent.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  try {
    await sleep(seconds * 1000);
    if (agent.exitCode !== null) throw new Error(`the binary's agent exited (${agent.exitCode}): ${stderr}`);
    const m = memory(agent.pid!);
    ctx.log(`binary agent rss: idle ${m.rssMiB.toFixed(1)} MiB (peak ${m.hwmMiB.toFixed(1)} MiB)`);
    return { ...m, seconds };
  } finally {
    agent.kill('SIGTERM');
    await new Promise((r) => (agent.exitCode !== null ? r(undefined) : agent.once('exit', r)));
    await sim.close();
    await hub.stop();
  }
}
