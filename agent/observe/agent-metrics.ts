// The agent's own registry: what it is doing, read at scrape (or push) time. Served by the
// observe listener beside the registries of other parts (e.g. spool faults) and pushed to a
// Pushgateway. Every series carries cluster and agent, so a scrape of many agents stays apart.
import { Counter, Gauge, Registry } from 'prom-client';
import { registerBuildInfo, registerHistogramMetric, registerProcessMetrics } from '../../shared/metrics/index.js';
import type { PollStats } from '../pipeline.js';
import type { SlurmrestdStats } from '../source/index.js';

export interface AgentMetricSources {
  pipeline: { readonly stats: PollStats; readonly polling: boolean };
  spool: { readonly unackedCount: number; readonly unackedBytes: number; readonly lastSeq: number; readonly ackedSeq: number };
  stream: { readonly connected: boolean; readonly stats: { connects: number; disconnects: number; deltasSent: number; acks: number } };
  /** slurmrestd sources: each request's latency and errors by kind. */
  slurmrestd?: Pick<SlurmrestdStats, 'durations' | 'errors'>;
}

export function createAgentMetrics(src: AgentMetricSources, labels: { cluster: string; agent: string }): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  registerProcessMetrics(registry, 'sfleet_agent_');
  registerBuildInfo(registry, 'sfleet_build_info');
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
  const counter = (name: string, help: string, read: () => number) =>
    new Counter({ name, help, registers: [registry], collect() { this.reset(); this.inc(read()); } });
  const s = src.pipeline.stats;
  counter('sfleet_agent_polls_total', 'Polls of Slurm since the agent started', () => s.polls + s.failures);
  counter('sfleet_agent_poll_failures_total', 'Polls that read nothing from Slurm', () => s.failures);
  counter('sfleet_agent_slurm_read_errors_total', 'Object kinds a poll could not read from slurmrestd or slurmdbd', () => s.readErrors);
  counter('sfleet_agent_deltas_sent_total', 'Deltas sent to a hub (resends after a reconnect count again)', () => src.stream.stats.deltasSent);
  counter('sfleet_agent_acks_total', 'Acknowledgements received from a hub', () => src.stream.stats.acks);
  counter('sfleet_agent_hub_connects_total', 'Streams to a hub that were welcomed', () => src.stream.stats.connects);
  gauge('sfleet_agent_poll_duration_seconds', 'Wall time of the last poll of Slurm', () => s.lastPollSeconds);
  gauge('sfleet_agent_last_poll_timestamp_seconds', 'When the last successful poll ended (unix seconds; 0 before the first)', () => (s.lastPollAt ? Date.parse(s.lastPollAt) / 1000 : 0));
  gauge('sfleet_agent_polling', '1 while the agent polls Slurm (0: standby or stopped)', () => (src.pipeline.polling ? 1 : 0));
  gauge('sfleet_agent_hub_connected', '1 while a hub stream is up', () => (src.stream.connected ? 1 : 0));
  gauge('sfleet_agent_spool_deltas', 'Deltas spooled and not yet acknowledged by a hub', () => src.spool.unackedCount);
  gauge('sfleet_agent_spool_bytes', 'Bytes of the deltas in the spool', () => src.spool.unackedBytes);
  gauge('sfleet_agent_unacked_seq_lag', 'Spooled seq minus the seq the hub acknowledged', () => Math.max(0, src.spool.lastSeq - src.spool.ackedSeq));
  const rest = src.slurmrestd;
  if (rest) {
    registerHistogramMetric(registry, { name: SLURMRESTD_DURATION, help: SLURMRESTD_DURATION_HELP }, function* () {
      for (const { labels, value } of rest.durations.entries.values()) yield { labels, histogram: value };
    });
    new Counter({
      name: SLURMRESTD_ERRORS,
      help: SLURMRESTD_ERRORS_HELP,
      labelNames: ['method', 'path', 'kind'],
      registers: [registry],
      collect() {
        this.reset();
        for (const { labels, value } of rest.errors.entries.values()) this.inc(labels, value.n);
      },
    });
  }
  return registry;
}

/** The slurmrestd families, named alike on the agent and (per agent, from heartbeats) on the hub. */
export const SLURMRESTD_DURATION = 'sfleet_agent_slurmrestd_request_duration_seconds';
export const SLURMRESTD_DURATION_HELP = 'Requests to slurmrestd by method and path template, from sending to the whole answer (failed ones too)';
export const SLURMRESTD_ERRORS = 'sfleet_agent_slurmrestd_errors_total';
export const SLURMRESTD_ERRORS_HELP = 'Failed requests to slurmrestd by method, path template and kind (unreachable, timeout, cut_off, too_large, tls, http_4xx, http_5xx, other)';
