// `sfleet sim` (simulated clusters) and `sfleet demo` (hub + simulated fleet + agents in one
// process: what `npm start` runs).
import type { Command } from 'commander';
import { existsSync, mkdirSync, createWriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import type { RunningAgent } from '../../agent/main.js';

const DEMO_VERSIONS = ['v0.0.38', 'v0.0.41', 'v0.0.44'];

export function registerDemoCommands(program: Command): void {
  program
    .command('sim')
    .description('serve simulated Slurm clusters with a slurmrestd-compatible API')
    .requiredOption('--listen <host:port>', 'address of the first cluster; more clusters take the next ports')
    .option('--clusters <k>', 'how many clusters', (v) => Number(v), 1)
    .option('--nodes <n>', 'nodes per cluster', (v) => Number(v), 64)
    .option('--jobs <n>', 'jobs per cluster at start', (v) => Number(v), 500)
    .option('--api-version <v>', 'slurmrestd API version (v0.0.38 .. v0.0.44); with --clusters, comma list to cycle', 'v0.0.41')
    .option('--token <jwt>', 'require this X-SLURM-USER-TOKEN')
    .option('--seed <n>', 'random seed', (v) => Number(v))
    .action(async (opts) => {
      const { startSimulatedFleet } = await import('../../sim/index.js');
      const fleet = await startSimulatedFleet({
        listen: opts.listen,
        clusters: opts.clusters,
        versions: String(opts.apiVersion).split(','),
        nodes: opts.nodes,
        jobs: opts.jobs,
        token: opts.token,
        seed: opts.seed,
      });
      const stop = (): void => void fleet.close().finally(() => process.exit(0));
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });

  program
    .command('demo')
    .description('run a hub, three simulated clusters and their agents in one process')
    .option('--dir <dir>', 'state directory (CA, certificates, data, spools, log)', '.sfleet/demo')
    .option('--http <host:port>', 'hub API', '127.0.0.1:8443')
    .option('--grpc <host:port>', 'hub agent port', '127.0.0.1:7443')
    .option('--sim <host:port>', 'first simulated slurmrestd (next clusters take the next ports)', '127.0.0.1:6900')
    .option('--nodes <n>', 'nodes per cluster', (v) => Number(v), 64)
    .option('--jobs <n>', 'jobs per cluster', (v) => Number(v), 400)
    .option('--poll-interval <duration>', 'agent poll interval', '5s')
    .action(async (opts) => {
      const { agentConfigSchema } = await import('../../agent/config/index.js');
      const { startAgent } = await import('../../agent/main.js');
      const { hubConfigSchema } = await import('../../hub/config/index.js');
      const { startHub } = await import('../../hub/main.js');
      const { createLogger } = await import('../../shared/logging/index.js');
      const { initCa, issueCertificate } = await import('../../shared/tls/index.js');
      const { startSimulatedFleet } = await import('../../sim/index.js');
      const dir = resolve(opts.dir);
      const pki = join(dir, 'pki');
      mkdirSync(dir, { recursive: true });
      if (!existsSync(join(pki, 'ca.pem'))) {
        await initCa(pki, { trustDomain: 'demo.sfleet' });
        await issueCertificate(pki, { role: 'hub', name: 'hub' });
        await issueCertificate(pki, { role: 'client', name: 'demo-admin' });
      }
      const logFile = join(dir, 'demo.log');
      const logger = createLogger({ name: 'sfleet-demo', level: 'info', destination: createWriteStream(logFile, { flags: 'a' }) });

      const hub = await startHub(
        hubConfigSchema.parse({
          hub_id: 'demo-hub',
          listen: { http: opts.http, grpc: opts.grpc },
          tls: { ca: join(pki, 'ca.pem'), cert: join(pki, 'hub.pem'), key: join(pki, 'hub-key.pem') },
          data_dir: join(dir, 'hub-data'),
        }),
        { logger: logger.child({ role: 'hub' }) },
      );
      const fleet = await startSimulatedFleet({ listen: opts.sim, clusters: DEMO_VERSIONS.length, versions: DEMO_VERSIONS, nodes: opts.nodes, jobs: opts.jobs, token: 'demo-token' });
      const agents: RunningAgent[] = [];
      for (const cluster of fleet.clusters) {
        if (!existsSync(join(pki, `agent-${cluster.name}.pem`))) {
          await issueCertificate(pki, { role: 'agent', name: `agent-${cluster.name}`, cluster: cluster.name });
        }
        agents.push(
          await startAgent(
            agentConfigSchema.parse({
              cluster: cluster.name,
              name: `agent-${cluster.name}`,
              hub: { endpoints: [hub.grpcAddress] },
              tls: { ca: join(pki, 'ca.pem'), cert: join(pki, `agent-${cluster.name}.pem`), key: join(pki, `agent-${cluster.name}-key.pem`) },
              slurm: { source: 'rest', endpoints: [cluster.url], auth: { user: 'demo', token: 'demo-token' }, simulator: true },
              poll_interval: opts.pollInterval,
              spool_dir: join(dir, 'spool', cluster.name),
            }),
            { logger: logger.child({ role: 'agent', agent: cluster.name }) },
          ),
        );
      }
      const env = [
        `export SFLEET_HUB=${hub.httpUrl}`,
        `export SFLEET_CA=${join(pki, 'ca.pem')}`,
        `export SFLEET_CERT=${join(pki, 'demo-admin.pem')}`,
        `export SFLEET_KEY=${join(pki, 'demo-admin-key.pem')}`,
      ];
      process.stdout.write(
        [
          '',
          'slurmfleet demo is running:',
          `  hub       ${hub.httpUrl} (API)  ${hub.grpcAddress} (agents, mTLS gRPC)`,
          ...fleet.clusters.map((c) => `  cluster   ${c.name.padEnd(8)} slurmrestd ${c.apiVersion} simulated at ${c.url}`),
          `  logs      ${logFile}`,
          '',
          'In another terminal, point the CLI at it:',
          ...env.map((l) => `  ${l}`),
          '  npx sfleet clusters',
          '  npx sfleet jobs --state RUNNING --limit 20',
          '  npx sfleet nodes --cluster sim-2',
          '  npx sfleet watch',
          '',
          'Ctrl-C stops everything; state stays in ' + dir,
          '',
        ].join('\n'),
      );
      let closing = false;
      const stop = (): void => {
        if (closing) return;
        closing = true;
        void (async () => {
          for (const a of agents) await a.close();
          await fleet.close();
          await hub.close();
        })().finally(() => process.exit(0));
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
}
