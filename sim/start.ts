// Wiring: engine + renderer + HTTP server + tick timer for one simulated cluster, and K of them
// on consecutive ports for a simulated fleet. The only place in sim/ that touches the real clock.
import { ConfigError } from '../shared/errors/index.js';
import { SimEngine, type SimClock, type SimEngineOptions } from './engine/index.js';
import { API_VERSIONS, isApiVersion, versionInfo, type ApiVersion } from './render/index.js';
import { SimServer, type FaultSpec } from './server/index.js';

export const SIM_DEFAULTS = Object.freeze({
  nodes: 64,
  jobs: 500,
  apiVersion: 'v0.0.41' as ApiVersion,
  tickMs: 1000,
  clusters: 1,
  seed: 1,
});

export interface StartSimulatorOptions {
  /** `host:port`; port 0 picks a free one. */
  listen: string;
  cluster: string;
  nodes?: number;
  jobs?: number;
  apiVersion?: string;
  seed?: number;
  /** When set, requests must carry this X-SLURM-USER-TOKEN. Never logged. */
  token?: string;
  /** Tick period; 0 = no timer (the caller ticks `engine` by hand). */
  tickMs?: number;
  arrivalPerMin?: number;
  nodeFailurePerHour?: number;
  /** Finer engine knobs (cpusPerNode, minJobAgeS, nodePrefix...). */
  engine?: Partial<Omit<SimEngineOptions, 'cluster' | 'nodes' | 'jobs' | 'seed' | 'arrivalPerMin' | 'nodeFailurePerHour'>>;
  faults?: FaultSpec;
  clock?: SimClock;
  /** Where the start line goes; default stderr. */
  log?: (line: string) => void;
}

export interface RunningSimulator {
  name: string;
  url: string;
  apiVersion: ApiVersion;
  engine: SimEngine;
  server: SimServer;
  setFaults(faults: FaultSpec): void;
  clearFaults(): void;
  close(): Promise<void>;
}

export interface StartFleetOptions extends Omit<StartSimulatorOptions, 'cluster' | 'apiVersion'> {
  /** `host:basePort`; cluster i listens on basePort + i (or a free port each when basePort is 0). */
  listen: string;
  clusters: number;
  /** Versions to cycle through, cluster by cluster. Default: [apiVersion]. */
  versions?: string[];
  apiVersion?: string;
  /** Cluster names are `<prefix>-1..K`; default "sim". */
  namePrefix?: string;
}

export interface RunningFleet {
  clusters: { name: string; url: string; apiVersion: ApiVersion }[];
  simulators: RunningSimulator[];
  close(): Promise<void>;
}

const systemClock: SimClock = { now: () => Date.now() };

function stderrLine(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Splits `host:port` (IPv6 as `[::1]:port`). */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(listen.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) throw new ConfigError(`invalid listen address "${listen}": use HOST:PORT, e.g. 127.0.0.1:6820`);
  return { host: m[1] ?? m[2], port };
}

export function parseApiVersion(v: string): ApiVersion {
  if (!isApiVersion(v)) throw new ConfigError(`unsupported slurmrestd API version "${v}" (supported: ${API_VERSIONS.join(', ')})`);
  return v;
}

function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

export async function startSimulator(opts: StartSimulatorOptions): Promise<RunningSimulator> {
  const apiVersion = parseApiVersion(opts.apiVersion ?? SIM_DEFAULTS.apiVersion);
  const { host, port } = parseListen(opts.listen);
  const tickMs = opts.tickMs ?? SIM_DEFAULTS.tickMs;
  if (!(Number.isFinite(tickMs) && tickMs >= 0)) throw new ConfigError(`tickMs must be >= 0 (got ${tickMs})`);
  const clock = opts.clock ?? systemClock;
  const seed = opts.seed ?? SIM_DEFAULTS.seed;
  const engine = new SimEngine(
    {
      ...opts.engine,
      cluster: opts.cluster,
      nodes: opts.nodes ?? SIM_DEFAULTS.nodes,
      jobs: opts.jobs ?? SIM_DEFAULTS.jobs,
      seed,
      arrivalPerMin: opts.arrivalPerMin,
      nodeFailurePerHour: opts.nodeFailurePerHour,
    },
    { clock },
  );
  const server = new SimServer({ engine, apiVersion, token: opts.token, faults: opts.faults, seed });
  const address = await server.listen(host, port);
  const url = `http://${urlHost(address.address)}:${address.port}`;
  const log = opts.log ?? stderrLine;
  let timer: NodeJS.Timeout | undefined;
  if (tickMs > 0) {
    timer = setInterval(() => {
      try {
        engine.tick(clock.now());
      } catch (err) {
        log(`sfleet sim: cluster ${engine.cluster}: tick failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }, tickMs);
    timer.unref();
  }
  const v = versionInfo(apiVersion);
  log(
    `sfleet sim: cluster ${engine.cluster} slurmrestd ${apiVersion} (Slurm ${v.release}) at ${url}` +
      ` (${engine.nodes.length} nodes, ${engine.jobCount} jobs, ${engine.options.arrivalPerMin} jobs/min${opts.token ? ', token required' : ''})`,
  );
  let closed = false;
  return {
    name: engine.cluster,
    url,
    apiVersion,
    engine,
    server,
    setFaults: (f) => server.faults.set(f),
    clearFaults: () => server.faults.clear(),
    close: async () => {
      if (closed) return;
      closed = true;
      if (timer) clearInterval(timer);
      await server.close();
    },
  };
}

export async function startSimulatedFleet(opts: StartFleetOptions): Promise<RunningFleet> {
  const { host, port } = parseListen(opts.listen);
  if (!Number.isInteger(opts.clusters) || opts.clusters < 1 || opts.clusters > 1000) throw new ConfigError(`clusters must be from 1 to 1000 (got ${opts.clusters})`);
  const versions = (opts.versions && opts.versions.length > 0 ? opts.versions : [opts.apiVersion ?? SIM_DEFAULTS.apiVersion]).map(parseApiVersion);
  if (port !== 0 && port + opts.clusters - 1 > 65535) throw new ConfigError(`ports ${port}..${port + opts.clusters - 1} do not fit`);
  const prefix = opts.namePrefix ?? 'sim';
  const simulators: RunningSimulator[] = [];
  try {
    for (let i = 0; i < opts.clusters; i++) {
      const listen = `${host.includes(':') ? `[${host}]` : host}:${port === 0 ? 0 : port + i}`;
      simulators.push(
        await startSimulator({
          ...opts,
          listen,
          cluster: `${prefix}-${i + 1}`,
          apiVersion: versions[i % versions.length],
          seed: (opts.seed ?? SIM_DEFAULTS.seed) + i,
        }),
      );
    }
  } catch (err) {
    await Promise.allSettled(simulators.map((s) => s.close()));
    throw err;
  }
  return {
    clusters: simulators.map((s) => ({ name: s.name, url: s.url, apiVersion: s.apiVersion })),
    simulators,
    close: async () => {
      await Promise.allSettled(simulators.map((s) => s.close()));
    },
  };
}
