// The project's slurmrestd simulator (sim/: startSimulator) in its own process, for benchmarks
// whose simulated cluster is too big to share a process with the one being measured.
// `change` makes n jobs change the way `scontrol update jobid=N priority=P` would; `drain`, `down`
// and `resume` change a node as `scontrol update nodename=X state=...` would.
import { startSimulator, type StartSimulatorOptions } from '../../../sim/index.js';
import { childArgs, serve } from '../lib/rpc.js';
import { changePendingJobs, Prng } from '../lib/workload.js';

const opts = childArgs<StartSimulatorOptions>();
const started = Date.now();
const sim = await startSimulator({ ...opts, log: () => undefined });
const rng = new Prng(99);

serve(
  {
    change: ({ jobs }: { jobs: number }) => changePendingJobs(sim.engine, jobs, rng),
    drain: ({ node, reason }: { node: string; reason: string }) => {
      sim.engine.drain(node, reason);
      return {};
    },
    down: ({ node, reason }: { node: string; reason: string }) => {
      sim.engine.down(node, reason);
      return {};
    },
    resume: ({ node }: { node: string }) => {
      sim.engine.resume(node);
      return {};
    },
    nodes: () => sim.engine.nodes.map((n) => n.name),
    /** Nodes neither down nor drained now (a drained node set down stays maintenance, not an incident). */
    upNodes: () =>
      sim.engine.nodes
        .filter((n) => {
          const st = sim.engine.nodeState(n);
          return st.base !== 'DOWN' && !st.flags.includes('DRAIN');
        })
        .map((n) => n.name),
    state: () => ({ jobs: sim.engine.jobCount, counts: sim.engine.counts().jobs }),
    stop: async () => {
      await sim.close();
      setImmediate(() => process.exit(0));
      return {};
    },
  },
  { url: sim.url, apiVersion: sim.apiVersion, jobs: sim.engine.jobCount, startMs: Date.now() - started },
);
