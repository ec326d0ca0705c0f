// What the agent tells the hub with each heartbeat: the hub turns it into per-agent series
// (poll duration, Slurm read errors, spool depth) so one scrape of the hub covers the fleet.
import type { AgentReport, SlurmrestdRequests } from '../../generated/fleet/v1/agent.js';
import type { SlurmrestdStats } from '../source/index.js';
import type { PollStats } from '../pipeline.js';

export interface ReportSources {
  pipeline: { readonly stats: PollStats; readonly polling: boolean };
  spool: { readonly unackedCount: number; readonly unackedBytes: number };
  /** slurmrestd sources: requests by kind (a few dozen entries at most). */
  slurmrestd?: Pick<SlurmrestdStats, 'durations' | 'errors'>;
}

export function agentReport({ pipeline, spool, slurmrestd }: ReportSources): AgentReport {
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
    slurmrestd: slurmrestd ? slurmrestdRequests(slurmrestd) : [],
  };
}

function slurmrestdRequests(stats: Pick<SlurmrestdStats, 'durations' | 'errors'>): SlurmrestdRequests[] {
  const out = new Map<string, SlurmrestdRequests>();
  for (const [key, { labels, value: h }] of stats.durations.entries) {
    out.set(key, { method: labels.method ?? '', path: labels.path ?? '', le: [...h.buckets], bucket_counts: [...h.counts], sum_seconds: h.sum, count: h.count, errors: {} });
  }
  for (const { labels, value } of stats.errors.entries.values()) {
    const r = out.get(`${labels.method}\u0000${labels.path}`);
    if (r && labels.kind) r.errors[labels.kind] = value.n;
  }
  return [...out.values()];
}
