// A real hub (startHub: store, fleet state, ingest, HTTPS API, watch) in its own process, so its
// CPU time and memory can be read from /proc. Args: the hub config (hub.yaml keys).
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { writeHeapSnapshot } from 'node:v8';
import { hubConfigSchema } from '../../../hub/config/index.js';
import { startHub } from '../../../hub/main.js';
import { createLogger } from '../../../shared/logging/index.js';
import { childArgs, serve } from '../lib/rpc.js';

const config = hubConfigSchema.parse(childArgs<Record<string, unknown>>());
const logger = createLogger({ name: 'sfleet-hub', level: process.env.SFLEET_BENCH_VERBOSE ? 'info' : 'warn' });
const started = Date.now();
const inspector = new Session();
inspector.connect();
const hub = await startHub(config, { logger });

serve(
  {
    stats: () => {
      const clusters = [...hub.state.clusters.values()].map((c) => ({ name: c.name, epoch: c.epoch, seq: c.seq, connected: c.connected, jobs: c.objects.job.size, nodes: c.objects.node.size }));
      let jobs = 0;
      let nodes = 0;
      for (const c of clusters) {
        jobs += c.jobs;
        nodes += c.nodes;
      }
      return { ingest: hub.ingest.stats, jobs, nodes, clusters: clusters.length, connected: clusters.filter((c) => c.connected).length, heapMiB: process.memoryUsage().heapUsed / 1048576 };
    },
    /** A CPU profile of a window of the hub's life (the part a benchmark measures). */
    profileStart: async () => {
      await inspector.post('Profiler.enable');
      await inspector.post('Profiler.start');
      return {};
    },
    profileStop: async ({ path }: { path: string }) => {
      const { profile } = await inspector.post('Profiler.stop');
      writeFileSync(path, JSON.stringify(profile));
      return {};
    },
    heapSnapshot: ({ path }: { path: string }) => writeHeapSnapshot(path),
    gc: () => {
      (globalThis as { gc?: () => void }).gc?.();
      return process.memoryUsage();
    },
    stop: async () => {
      await hub.close();
      setImmediate(() => process.exit(0));
      return {};
    },
  },
  { grpc: hub.grpcAddress, http: hub.httpUrl, startMs: Date.now() - started },
);
