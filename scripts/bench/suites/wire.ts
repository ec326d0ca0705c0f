// 2. Wire efficiency: a 10,000-job cluster (the simulator speaking v0.0.38, pretty-printed like a
// real slurmrestd), 1% of its jobs changing between polls. Bytes an agent's stream carries per
// poll (both directions, TLS and HTTP/2 included, through a counting relay), against the size
// of the full `jobs` answer the agent read for that poll.
import { startSimulator } from '../../../sim/index.js';
import { TcpProxy, waitFor } from '../../../test/harness/index.js';
import { measured, round, type BenchContext, type Measured } from '../lib/context.js';
import { startAgentChild, startHubChild, simSlurm } from '../lib/parts.js';
import { changePendingJobs, Prng } from '../lib/workload.js';

export async function wireBench(ctx: BenchContext): Promise<Measured[]> {
  const jobs = 10_000;
  const polls = ctx.quick ? 2 : 6;
  const changed = jobs / 100;
  // Few nodes, so most jobs pend and a changed priority is a real change; no timer: only our changes.
  const sim = await startSimulator({ listen: '127.0.0.1:0', cluster: 'wire', nodes: 100, jobs, apiVersion: 'v0.0.38', tickMs: 0, arrivalPerMin: 0, nodeFailurePerHour: 0, log: () => undefined });
  const hub = await startHubChild(ctx, 'wire-hub');
  const colon = hub.ready.grpc.lastIndexOf(':');
  const proxy = await new TcpProxy(hub.ready.grpc.slice(0, colon), Number(hub.ready.grpc.slice(colon + 1))).start();
  const agent = await startAgentChild(ctx, { cluster: 'wire', hubs: [proxy.address], slurm: { ...simSlurm(sim.url), timeout: '120s' }, pollInterval: '1h' });
  try {
    await agent.call('settle', { timeoutMs: 120_000 });
    await waitFor('the hub to hold the cluster', async () => ((await hub.call<{ jobs: number }>('stats')).jobs >= jobs * 0.9 ? true : false), 60_000, 50);
    // The full answer the agent reads each poll, as the simulator sends it.
    const res = await fetch(`${sim.url}/slurm/v0.0.38/jobs`, { headers: { 'x-slurm-user-name': 'root', 'x-slurm-user-token': 'bench' } });
    const jobsBytes = (await res.arrayBuffer()).byteLength;
    const records = sim.engine.jobCount;
    const rng = new Prng(7);
    proxy.resetBytes();
    let changes = 0;
    for (let i = 0; i < polls; i++) {
      changePendingJobs(sim.engine, changed, rng);
      const r = await agent.call<{ changes: number }>('poll', { timeoutMs: 120_000 });
      changes += r.changes;
    }
    const { up, down } = proxy.bytes();
    const perPoll = (up + down) / polls;
    const ratio = perPoll / jobsBytes;
    ctx.log(`wire: ${records} jobs, ${Math.round(jobsBytes / records)} B/job in /jobs (${(jobsBytes / 1e6).toFixed(1)} MB); ${changes / polls} changes/poll -> ${Math.round(perPoll)} B/poll on the wire (${Math.round(up / polls)} up, ${Math.round(down / polls)} down)`);
    return [
      measured(ctx, 'wire_ratio', round(ratio, 5), 'fraction', {
        target: '<= 0.005',
        met: ratio <= 0.005,
        note: `${Math.round(perPoll)} B/poll vs ${(jobsBytes / 1e6).toFixed(1)} MB /jobs (${records} jobs, ${changes / polls} changed/poll)`,
      }),
    ];
  } finally {
    await agent.stop();
    await proxy.close();
    await hub.stop();
    await sim.close();
  }
}
