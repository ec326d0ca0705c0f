// Wires the agent: Slurm source, spool, pipeline, hub stream. The only place that knows them all.
import { AtRest } from '../shared/crypto/index.js';
import { createLogger, type Logger } from '../shared/logging/index.js';
import { loadTls } from '../shared/tls/credentials.js';
import { VERSION } from '../shared/version.js';
import type { AgentConfig } from './config/index.js';
import { AgentPipeline } from './pipeline.js';
import { createSlurmSource } from './source/index.js';
import type { SlurmSource } from './source/source.js';
import { DeltaSpool } from './spool/index.js';
import { CertificateRenewal, HubStream } from './stream/index.js';

export interface RunningAgent {
  pipeline: AgentPipeline;
  stream: HubStream;
  spool: DeltaSpool;
  /** Renews the agent certificate from the hub before it expires. */
  renewal: CertificateRenewal;
  close(): Promise<void>;
}

export async function startAgent(config: AgentConfig, opts: { logger?: Logger; source?: SlurmSource } = {}): Promise<RunningAgent> {
  const logger = opts.logger ?? createLogger({ name: 'sfleet-agent', level: config.log_level });
  const log = logger.child({ cluster: config.cluster });
  // Fail at start on unreadable TLS files, not on the first connect.
  loadTls(config.tls, 'agent');
  const atRest = await AtRest.create(config.encryption, { logger: log });
  if (atRest.enabled) log.info({ encryption: atRest.describe(), ...(await atRest.preload(config.spool_dir)) }, 'encryption at rest: data keys loaded');
  const spool = DeltaSpool.open(config.spool_dir, { cluster: config.cluster, maxBytes: config.spool.max_bytes }, { logger: log, atRest });
  log.info({ epoch: spool.epoch, seq: spool.lastSeq, unacked: spool.unackedCount, objects: spool.objectCount }, 'spool opened');
  const source = opts.source ?? createSlurmSource(config, { logger: log });
  const pipeline = new AgentPipeline({ source, spool, logger: log }, { pollIntervalMs: config.poll_interval, submit: { min_uid: config.submit.min_uid, forbidden: [config.submit.slurm_user] }, spoolDir: config.spool_dir });
  const renewal = new CertificateRenewal({ files: config.tls, renewAt: config.tls.renew_at }, { logger: log.child({ component: 'tls' }) });
  const stream = new HubStream(
    {
      cluster: config.cluster,
      agentName: config.name,
      agentVersion: VERSION,
      endpoints: [...config.hub.endpoints],
      tls: () => loadTls(config.tls, 'agent'),
      initialBackoffMs: config.hub.initial_backoff,
      maxBackoffMs: config.hub.max_backoff,
    },
    {
      logger: log,
      spool,
      runCommand: (c) => pipeline.runCommand(c),
      slurmApiVersion: () => pipeline.stats.apiVersion,
      // A standby does not poll: slurmrestd pays for every poll, and only the active one sends.
      onRole: (role) => {
        if (role === 'standby' && polling) {
          polling = false;
          void pipeline.stop();
        } else if (role === 'active' && !polling) {
          polling = true;
          pipeline.start();
        }
      },
      beforeActivate: () => pipeline.pollOnce(),
      renewal,
    },
  );
  pipeline.stream = stream;
  let polling = true;
  stream.start();
  pipeline.start();
  let closed = false;
  return {
    pipeline,
    stream,
    spool,
    renewal,
    async close() {
      if (closed) return;
      closed = true;
      await pipeline.stop();
      await stream.stop();
      await source.close();
      spool.close();
    },
  };
}
