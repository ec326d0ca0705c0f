// A real agent (startAgent: Slurm source, normalize, diff, spool, hub stream) in its own process,
// so its CPU time and memory can be read from /proc. Args: the agent config (agent.yaml keys).
// `poll` runs one poll cycle now and returns once the hub has acked everything spooled; the
// stream's welcomes go to the parent as events, stamped when they happened (2 ms resolution).
import { Writable } from 'node:stream';
import { writeHeapSnapshot } from 'node:v8';
import { agentConfigSchema } from '../../../agent/config/index.js';
import { startAgent } from '../../../agent/main.js';
import { createLogger } from '../../../shared/logging/index.js';
// wait.js alone: the harness's index would load modules (HTTPS client, YAML...) into the agent whose memory is measured.
import { waitFor } from '../../../test/harness/wait.js';
import { childArgs, emit, serve } from '../lib/rpc.js';

const config = agentConfigSchema.parse(childArgs<Record<string, unknown>>());
const verbose = !!process.env.SFLEET_BENCH_VERBOSE;
const lines = new Writable({
  write(chunk: Buffer, _enc, done) {
    if (verbose) process.stderr.write(chunk);
    done();
  },
});
const logger = createLogger({ name: 'sfleet-agent', level: 'info', destination: lines });
const agent = await startAgent(config, { logger });

// Each welcome from a hub, to the parent with the time it happened: the stream counts it in
// stats.connects, watched through a setter. (A 2 ms timer did this before and cost the agent
// process ~36 ms of CPU per second, which agent-cost counted as the agent's.)
const stats = agent.stream.stats;
let connects = stats.connects;
const announce = (): void => emit('connected', { at: Date.now(), hub: agent.stream.endpoint });
Object.defineProperty(stats, 'connects', {
  enumerable: true,
  get: () => connects,
  set: (n: number) => {
    connects = n;
    announce();
  },
});
if (connects > 0) announce();

async function until(what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  await waitFor(`agent: ${what}`, ok, timeoutMs, 5);
}

function status() {
  const { spool, stream, pipeline } = agent;
  return {
    epoch: spool.epoch,
    lastSeq: spool.lastSeq,
    ackedSeq: spool.ackedSeq,
    objects: spool.objectCount,
    connected: stream.connected,
    endpoint: stream.endpoint,
    stream: stream.stats,
    polls: pipeline.stats.polls,
    failures: pipeline.stats.failures,
    lastError: pipeline.stats.lastError,
  };
}

serve(
  {
    status,
    /** Waits until the first poll is done and the hub has acked it. */
    settle: async ({ timeoutMs }: { timeoutMs: number }) => {
      await until('the first poll', () => agent.pipeline.stats.polls + agent.pipeline.stats.failures > 0, timeoutMs);
      if (agent.pipeline.stats.polls === 0) throw new Error(`agent: first poll failed: ${agent.pipeline.stats.lastError}`);
      await until('the hub to ack the first poll', () => agent.stream.connected && agent.spool.ackedSeq === agent.spool.lastSeq, timeoutMs);
      return status();
    },
    /** One poll cycle (parse, normalize, diff, spool, send) until the hub acks it. */
    poll: async ({ timeoutMs }: { timeoutMs: number }) => {
      const t0 = process.hrtime.bigint();
      const changes = await agent.pipeline.pollOnce();
      await until('the hub to ack the poll', () => agent.spool.ackedSeq === agent.spool.lastSeq, timeoutMs);
      return { changes, ms: Number(process.hrtime.bigint() - t0) / 1e6, ...status() };
    },
    heapSnapshot: ({ path }: { path: string }) => writeHeapSnapshot(path),
    gc: () => {
      (globalThis as { gc?: () => void }).gc?.();
      return process.memoryUsage();
    },
    stop: async () => {
      await agent.close();
      setImmediate(() => process.exit(0));
      return {};
    },
  },
  { pid: process.pid },
);
