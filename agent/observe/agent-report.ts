// What the agent tells the hub with each heartbeat: the hub turns it into per-agent series
// (poll duration, Slurm read errors, spool depth) so one scrape of the hub covers the fleet.
import type { AgentReport } from '../../generated/fleet/v1/agent.js';
import type { PollStats } from '../pipeline.js';

export interface ReportSources {
  pipeline: { readonly stats: PollStats; readonly polling: boolean };
  spool: { readonly unackedCount: number; readonly unackedBytes: number };
}

export function agentReport({ pipeline, spool }: ReportSources): AgentReport {
  const s = pipeline.stats;
  return {
    last_poll_duration_seconds: s.lastPollSeconds,
    last_poll_at: s.lastPollAt ?? '',
    polls_total: s.polls + s.failures,
    poll_failures_total: s.failures,
    slurm_read_errors_total: s.readErrors,
    spool_deltas: spool.unackedCount,
    spool_bytes: spool.unackedBytes,
    polling: pipeline.polling,
  };
}
