// Per-agent series from the agents' heartbeat reports (hub/ingest/agent-reports.ts): one scrape
// of the hub shows every agent streaming to it. Labels: cluster and agent (a handful per cluster).
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AgentReport } from '../../generated/fleet/v1/agent.js';
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
