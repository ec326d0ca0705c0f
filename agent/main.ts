// Wires the agent: Slurm source, spool, pipeline, hub stream. The only place that knows them all.
import { AtRest } from '../shared/crypto/index.js';
import { WriteFaults } from '../shared/durability/index.js';
import { createLogger, type Logger } from '../shared/logging/index.js';
import { loadTls } from '../shared/tls/credentials.js';
import { VERSION } from '../shared/version.js';
import type { AgentConfig } from './config/index.js';
import { createAgentHealth, type AgentHealth } from './health/index.js';
import { AgentPipeline } from './pipeline.js';
import { createAssociations } from './associations/index.js';
import { createHistoryReader, createSlurmSource } from './source/index.js';
import type { SlurmSource } from './source/source.js';
import { DeltaSpool } from './spool/index.js';
import { CertificateRenewal, effectiveTls, HubStream } from './stream/index.js';
import { agentReport, loadServing, PollTrace, type HealthSource, type ObserveListener } from './observe/index.js';
import { Tracing } from '../shared/tracing/index.js';
import type { Registry } from 'prom-client';
import { effectiveEncryption, tlsPolicyFrom } from '../shared/security/index.js';

export interface RunningAgent {
  pipeline: AgentPipeline;
  stream: HubStream;
  spool: DeltaSpool;
  /** Renews the agent certificate from the hub before it expires. */
  renewal: CertificateRenewal;
  /** The /healthz snapshot (served by the agent's listener). */
  health: AgentHealth;
  /** The agent's own series (served by the observe listener, pushed to a Pushgateway); only when configured. */
  metrics?: Registry;
  /** The observe listener, when observe.listen is set. */
  observe?: ObserveListener;
  close(): Promise<void>;
}

/** Other parts' series and health (spool faults, alerting): served and pushed with the agent's own. */
export interface ObservePlugins {
  registries?: Registry[];
  health?: HealthSource[];
}

export async function startAgent(config: AgentConfig, opts: { logger?: Logger; source?: SlurmSource; observe?: ObservePlugins } = {}): Promise<RunningAgent> {
  const logger = opts.logger ?? createLogger({ name: 'sfleet-agent', level: config.log_level });
  const log = logger.child({ cluster: config.cluster });
  // Fail at start on unreadable TLS files, not on the first connect.
  const tlsPolicy = tlsPolicyFrom(config.security);
  const tlsFiles = () => effectiveTls(config.tls, config.tls.renewed_dir);
  loadTls(tlsFiles(), 'agent', tlsPolicy);
  const atRest = await AtRest.create(effectiveEncryption(config.encryption, config.security), { logger: log, tlsPolicy });
  if (atRest.enabled) log.info({ encryption: atRest.describe(), ...(await atRest.preload(config.spool_dir)) }, 'encryption at rest: data keys loaded');
  // A full or read-only disk fails every write: logged once a minute, counted every time.
  const faults = new WriteFaults({ logger: log }, { logIntervalMs: 60_000 });
  // An unspooled spool retries its disk every poll, but writes a whole snapshot at most every 5 s.
  const retryMs = Math.max(config.poll_interval, 5_000);
  const spool = DeltaSpool.open(config.spool_dir, { cluster: config.cluster, maxBytes: config.spool.max_bytes, retryMs }, { logger: log, atRest, faults });
  const health = createAgentHealth({ faults, spool, durableDirs: [config.spool_dir] });
  log.info({ epoch: spool.epoch, seq: spool.lastSeq, unacked: spool.unackedCount, objects: spool.objectCount }, 'spool opened');
  const tracing = await Tracing.create(
    { enabled: config.observe.tracing.enabled, endpoint: config.observe.tracing.endpoint, samplingRatio: config.observe.tracing.sampling_ratio, serviceName: 'sfleet-agent', attributes: { 'sfleet.cluster': config.cluster, 'sfleet.agent': config.name } },
    log.child({ component: 'tracing' }),
  );
  const trace = new PollTrace(tracing);
  const source = opts.source ?? createSlurmSource(config, { logger: log, ...(tracing.enabled ? { reads: trace } : {}) });
  const pipeline = new AgentPipeline({ source, spool, logger: log, history: createHistoryReader(config), associations: createAssociations(config), ...(tracing.enabled ? { trace } : {}) }, { pollIntervalMs: config.poll_interval, submit: { min_uid: config.submit.min_uid, forbidden: [config.submit.slurm_user] }, spoolDir: config.spool_dir });
  const renewal = new CertificateRenewal({ files: config.tls, renewedDir: config.tls.renewed_dir, renewAt: config.tls.renew_at }, { logger: log.child({ component: 'tls' }) });
  const stream = new HubStream(
    {
      cluster: config.cluster,
      agentName: config.name,
      agentVersion: VERSION,
      endpoints: [...config.hub.endpoints],
      tls: () => loadTls(tlsFiles(), 'agent', tlsPolicy),
      initialBackoffMs: config.hub.initial_backoff,
      maxBackoffMs: config.hub.max_backoff,
      connectTimeoutMs: config.hub.connect_timeout,
    },
    {
      logger: log,
      spool,
      runCommand: (c) => pipeline.runCommand(c),
      slurmApiVersion: () => pipeline.stats.apiVersion,
      report: () => agentReport({ pipeline, spool, ...(source.slurmrestdStats ? { slurmrestd: source.slurmrestdStats } : {}) }),
      ...(tracing.enabled ? { trace } : {}),
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
  // Metrics, the listener and the pusher (prom-client) load only when something reads them.
  const observeConfig = config.observe;
  const serving =
    observeConfig.listen || observeConfig.push_gateway || opts.observe
      ? await (await loadServing())
          .startServing({
            config: observeConfig,
            labels: { cluster: config.cluster, agent: config.name },
            pipeline,
            spool,
            stream,
            ...(source.slurmrestdStats ? { slurmrestd: source.slurmrestdStats } : {}),
            health: { faults, spool, durableDirs: [config.spool_dir] },
            agentHealth: health,
            tracing,
            sources: [...agentHealth({ pipeline, stream }), ...(opts.observe?.health ?? [])],
            registries: opts.observe?.registries ?? [],
            status: () => agentStatus(config, pipeline, stream, spool),
            logger: log,
          })
          .catch(async (err: unknown) => {
            // Nothing has started yet: close what is open, then fail the start (port in use, bad files).
            await source.close();
            spool.close();
            throw err;
          })
      : undefined;
  const pushers = serving?.pushers ?? [];
  let polling = true;
  stream.start();
  pipeline.start();
  for (const p of pushers) p.start();
  let closed = false;
  return {
    pipeline,
    stream,
    spool,
    renewal,
    health,
    metrics: serving?.metrics,
    observe: serving?.observe,
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(pushers.map((p) => p.close()));
      await serving?.observe?.close();
      await pipeline.stop();
      await stream.stop();
      await source.close();
      spool.close();
      // what was traced until now goes out (bounded by the export timeout)
      await tracing.close();
    },
  };
}

/** The agent's own health: Slurm read by the last poll, a hub stream up. */
function agentHealth({ pipeline, stream }: { pipeline: AgentPipeline; stream: HubStream }): HealthSource[] {
  return [
    {
      name: 'slurm',
      health: () => (pipeline.stats.lastError ? { status: 'degraded', reasons: [`last poll failed: ${pipeline.stats.lastError}`] } : { status: 'ok', reasons: [] }),
    },
    { name: 'hub', health: () => (stream.connected ? { status: 'ok', reasons: [] } : { status: 'degraded', reasons: ['no hub stream'] }) },
  ];
}

/** What `sfleet agent status` prints: role, polls, spool and hub positions. No secrets. */
function agentStatus(config: AgentConfig, pipeline: AgentPipeline, stream: HubStream, spool: DeltaSpool): Record<string, unknown> {
  const s = pipeline.stats;
  return {
    cluster: config.cluster,
    agent: config.name,
    version: VERSION,
    role: stream.role ?? 'connecting',
    polling: pipeline.polling,
    hub_connected: stream.connected,
    slurm_api_version: s.apiVersion,
    last_poll_at: s.lastPollAt ?? null,
    last_poll_seconds: s.lastPollSeconds,
    polls: s.polls,
    poll_failures: s.failures,
    last_error: s.lastError ?? null,
    spool: { epoch: spool.epoch, last_seq: spool.lastSeq, acked_seq: spool.ackedSeq, unacked: spool.unackedCount, unacked_bytes: spool.unackedBytes },
  };
}
