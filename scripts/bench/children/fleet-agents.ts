// Many simulated clusters' agents in one process for the fleet-scale benchmark: each cluster has
// the agent's real spool (DeltaSpool, fsync'd) and real hub stream (HubStream: mutual TLS, its
// own agent certificate, resume by seq, acks), fed from the simulator's model of a cluster. A
// poll is simulated: `churn` changes a share of each cluster's jobs and nodes and spools them as
// the diff would (changed objects into spool.objects, then append), every interval.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DeltaSpool } from '../../../agent/spool/index.js';
import { objectKey } from '../../../shared/delta/index.js';
import { HubStream } from '../../../agent/stream/index.js';
import { silentLogger } from '../../../shared/logging/index.js';
import { KINDS, wrapObject, type ClusterModel, type FleetObject, type Job, type Node } from '../../../shared/model/index.js';
import { loadTls, type TlsFiles } from '../../../shared/tls/index.js';
import { childArgs, serve } from '../lib/rpc.js';
import { changeJob, changeNode, Prng, renameModel, simulatedModel } from '../lib/workload.js';

interface Args {
  clusters: { name: string; tls: TlsFiles }[];
  hub: string;
  nodes: number;
  jobs: number;
  spoolDir: string;
  /** Distinct simulated clusters; the others are renamed copies. */
  distinct: number;
}

interface Agent {
  name: string;
  spool: DeltaSpool;
  stream: HubStream;
  jobs: Job[];
  nodes: Node[];
  rng: Prng;
}

const args = childArgs<Args>();
const logger = silentLogger();
const t0 = Date.now();
const bases = new Map<number, ClusterModel>();
const agents: Agent[] = args.clusters.map((c, i) => {
  const seed = (i % args.distinct) + 1;
  let base = bases.get(seed);
  if (!base) bases.set(seed, (base = simulatedModel({ name: 'base', nodes: args.nodes, jobs: args.jobs, seed })));
  const model = renameModel(base, c.name);
  const dir = join(args.spoolDir, c.name);
  mkdirSync(dir, { recursive: true });
  const spool = DeltaSpool.open(dir, { cluster: c.name, maxBytes: 256 * 1024 * 1024 }, { logger });
  // The first poll's state; the hub does not know this epoch, so the stream's welcome turns it
  // into a snapshot (compactToSnapshot), as for a fresh agent.
  for (const kind of KINDS) {
    for (const o of model[kind] as { cluster: string }[]) (spool.objects[kind] as Map<unknown, unknown>).set(objectKey(kind as never, o as never), o);
  }
  const stream = new HubStream(
    { cluster: c.name, agentName: `agent-${c.name}`, agentVersion: 'bench', endpoints: [args.hub], tls: () => loadTls(c.tls, 'agent'), initialBackoffMs: 250, maxBackoffMs: 2000 },
    { logger, spool, runCommand: async (cmd) => ({ id: cmd.id, ok: false, message: 'bench', code: 'SF_BENCH', via: '', history: [], job_id: '' }), slurmApiVersion: () => 'v0.0.40' },
  );
  return { name: c.name, spool, stream, jobs: model.job, nodes: model.node, rng: new Prng(500 + i) };
});
bases.clear();
const buildMs = Date.now() - t0;


const churnTimers: NodeJS.Timeout[] = [];
const churned = { deltas: 0, updates: 0 };

function stopChurn(): void {
  for (const t of churnTimers) clearTimeout(t);
  churnTimers.length = 0;
}

/** Every cluster polls once per interval, each at its own phase (agents do not poll in step). */
function startChurn(jobs: number, intervalMs: number): void {
  agents.forEach((a, i) => {
    churnTimers.push(
      setTimeout(() => {
        churnOnce(a, jobs);
        churnTimers.push(setInterval(() => churnOnce(a, jobs), intervalMs));
      }, Math.floor((i * intervalMs) / agents.length)),
    );
  });
}

/** One simulated poll of a cluster: `jobs` jobs and jobs/10 nodes changed. */
function churnOnce(a: Agent, jobs: number): void {
  const now = new Date().toISOString();
  {
    const upserts: FleetObject[] = [];
    for (let k = 0; k < jobs; k++) {
      const i = a.rng.int(0, a.jobs.length - 1);
      const job = changeJob(a.jobs[i], a.rng, a.nodes, now);
      a.jobs[i] = job;
      a.spool.objects.job.set(job.id, job);
      upserts.push(wrapObject('job', job));
    }
    for (let k = 0; k < Math.ceil(jobs / 10); k++) {
      const i = a.rng.int(0, a.nodes.length - 1);
      const node = changeNode(a.nodes[i], a.rng);
      a.nodes[i] = node;
      a.spool.objects.node.set(node.name, node);
      upserts.push(wrapObject('node', node));
    }
    a.spool.append(upserts, []);
    a.stream.notify();
    churned.deltas++;
    churned.updates += upserts.length;
  }
}

function progress() {
  let acked = 0;
  let connected = 0;
  for (const a of agents) {
    if (a.stream.connected) connected++;
    if (a.stream.connected && a.spool.ackedSeq === a.spool.lastSeq) acked++;
  }
  return { clusters: agents.length, connected, acked, churned };
}

serve(
  {
    start: () => {
      for (const a of agents) a.stream.start();
      return {};
    },
    progress,
    churn: ({ jobs, intervalMs }: { jobs: number; intervalMs: number }) => {
      stopChurn();
      if (intervalMs > 0) startChurn(jobs, intervalMs);
      return {};
    },
    stop: async () => {
      stopChurn();
      await Promise.all(agents.map((a) => a.stream.stop()));
      for (const a of agents) a.spool.close();
      setImmediate(() => process.exit(0));
      return {};
    },
  },
  { buildMs, objects: agents.reduce((n, a) => n + a.spool.objectCount, 0) },
);
