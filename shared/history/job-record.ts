// One finished run of a job as the history keeps it: the columns `sacct -P --duplicates -X`
// shows, typed. Key: (cluster, job_id, submit_time); a requeued job has one record per run.
// No batch script, environment or command line: the history holds accounting, not payloads.

export interface HistoryJob {
  cluster: string;
  /** JobIDRaw: the numeric id (array tasks and het components have their own). */
  job_id: number;
  /** Epoch milliseconds, UTC; part of the key. */
  submit_time: number;
  /** Null when the run never started (cancelled while pending). */
  start_time: number | null;
  end_time: number;
  name: string;
  user: string;
  account: string;
  partition: string;
  qos: string;
  /** Slurm's state word ("COMPLETED", "FAILED", "CANCELLED", "REQUEUED"...), without "by <uid>". */
  state: string;
  /** ExitCode "code:signal". */
  exit_code: number;
  exit_signal: number;
  /** AllocTRES exactly as sacct prints it ("billing=1,cpu=1,mem=500M,node=1"). */
  alloc_tres: string;
  cpus: number;
  gpus: number;
  memory_mb: number;
  node_count: number;
  /** NodeList in Slurm's compact form and expanded. */
  node_list: string;
  nodes: string[];
}

/** A run as the API answers it (GET /api/v1/history/jobs): times as ISO-8601 UTC text. */
export type HistoryJobView = Omit<HistoryJob, 'submit_time' | 'start_time' | 'end_time'> & {
  submit_time: string;
  start_time: string | null;
  end_time: string;
};

export function historyKey(job: Pick<HistoryJob, 'cluster' | 'job_id' | 'submit_time'>): string {
  return `${job.cluster}\u0000${job.job_id}\u0000${job.submit_time}`;
}
