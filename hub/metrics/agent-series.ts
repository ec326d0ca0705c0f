// Per-agent series from the agents' heartbeat reports (hub/ingest/agent-reports.ts): one scrape
// of the hub shows every agent streaming to it. Labels: cluster and agent (a handful per cluster).
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AgentReport } from '../../generated/fleet/v1/agent.js';
import { registerHistogramMetric } from '../../shared/metrics/index.js';
import type { AgentReports } from '../ingest/index.js';

type Read = (r: AgentReport) => number | undefined;

export function registerAgentMetrics(registry: Registry, reports: Pick<AgentReports, 'list'>): void {
  const labelNames = ['cluster', 'agent'] as const;
  new Gauge({
    name: 'sfleet_agent_streams',
    help: 'Agent streams open on this hub (active and standby)',
    registers: [registry],
    collect() {
      this.set(reports.list().length);
    },
  });
  new Gauge({
    name: 'sfleet_agent_last_seen_timestamp_seconds',
    help: 'When the agent last sent anything on its stream (unix seconds)',
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const a of reports.list()) this.set({ cluster: a.cluster, agent: a.agent }, a.lastSeenMs / 1000);
    },
  });
  new Gauge({
    name: 'sfleet_agent_last_poll_timestamp_seconds',
    help: "When the agent's last poll of Slurm ended (unix seconds)",
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const a of reports.list()) {
        const at = a.report?.last_poll_at ? Date.parse(a.report.last_poll_at) : NaN;
        if (Number.isFinite(at)) this.set({ cluster: a.cluster, agent: a.agent }, at / 1000);
      }
    },
  });
  const gauge = (name: string, help: string, read: Read) =>
    new Gauge({ name, help, labelNames, registers: [registry], collect() { fill(this, reports, read); } });
  const counter = (name: string, help: string, read: Read) =>
    new Counter({ name, help, labelNames, registers: [registry], collect() { fill(this, reports, read); } });
  gauge('sfleet_agent_poll_duration_seconds', "Wall time of the agent's last poll of Slurm", (r) => r.last_poll_duration_seconds);
  gauge('sfleet_agent_spool_deltas', 'Deltas spooled by the agent and not yet acknowledged by a hub', (r) => r.spool_deltas);
  gauge('sfleet_agent_spool_bytes', 'Bytes of the deltas in the agent spool', (r) => r.spool_bytes);
  gauge('sfleet_agent_polling', '1 while the agent polls Slurm (0: standby or stopped)', (r) => (r.polling ? 1 : 0));
  counter('sfleet_agent_polls_total', 'Polls of Slurm by the agent since it started', (r) => r.polls_total);
  counter('sfleet_agent_poll_failures_total', 'Polls that read nothing from Slurm (slurmrestd down, refused, timed out)', (r) => r.poll_failures_total);
  counter('sfleet_agent_slurm_read_errors_total', 'Object kinds a poll could not read from slurmrestd or slurmdbd', (r) => r.slurm_read_errors_total);
  // The agent's slurmrestd figures, as its own /metrics serves them, with cluster and agent.
  registerHistogramMetric(registry, { name: 'sfleet_agent_slurmrestd_request_duration_seconds', help: "The agent's requests to slurmrestd by method and path template, from sending to the whole answer (failed ones too; from heartbeats)" }, function* () {
    for (const a of reports.list()) {
      for (const r of bounded(a.report?.slurmrestd)) {
        if (r.bucket_counts.length !== r.le.length + 1) continue;
        yield { labels: { cluster: a.cluster, agent: a.agent, method: r.method, path: r.path }, histogram: { buckets: r.le, counts: r.bucket_counts, sum: r.sum_seconds, count: r.count } };
      }
    }
  });
  new Counter({
    name: 'sfleet_agent_slurmrestd_errors_total',
    help: "The agent's failed requests to slurmrestd by method, path template and kind (unreachable, timeout, cut_off, too_large, tls, http_4xx, http_5xx, other; from heartbeats)",
    labelNames: ['cluster', 'agent', 'method', 'path', 'kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const a of reports.list()) {
        for (const r of bounded(a.report?.slurmrestd)) for (const [kind, n] of Object.entries(r.errors)) if (KINDS.has(kind)) this.inc({ cluster: a.cluster, agent: a.agent, method: r.method, path: r.path, kind }, n);
      }
    },
  });
}

function fill(metric: Gauge<'cluster' | 'agent'> | Counter<'cluster' | 'agent'>, reports: Pick<AgentReports, 'list'>, read: Read): void {
  metric.reset();
  for (const a of reports.list()) {
    if (!a.report) continue;
    const v = read(a.report);
    if (v === undefined) continue;
    if (metric instanceof Counter) metric.inc({ cluster: a.cluster, agent: a.agent }, v);
    else metric.set({ cluster: a.cluster, agent: a.agent }, v);
  }
}

/** What an agent reports becomes labels: only the shapes an agent makes, and a few dozen of them. */
const METHOD = /^(GET|POST|DELETE)$/;
const PATH = /^\/[a-z]+(\/[a-z]+(\/\{id\})?)?$/;
const KINDS = new Set(['unreachable', 'timeout', 'cut_off', 'too_large', 'tls', 'http_4xx', 'http_5xx', 'other']);
const MAX_KINDS_PER_AGENT = 64;

function bounded(requests: AgentReport['slurmrestd'] | undefined): AgentReport['slurmrestd'] {
  return (requests ?? []).filter((r) => METHOD.test(r.method) && PATH.test(r.path)).slice(0, MAX_KINDS_PER_AGENT);
}
