/** Counters of one hub's ingest (metrics and tests read them). */
export interface IngestStats {
  deltasApplied: number;
  duplicates: number;
  gaps: number;
  snapshots: number;
  /** Deltas and hellos refused for speaking for another cluster, bad snapshot parts. */
  rejected: number;
  /** WAL writes (each one fsync for a run of deltas). */
  batches: number;
}

export function newIngestStats(): IngestStats {
  return { deltasApplied: 0, duplicates: 0, gaps: 0, snapshots: 0, rejected: 0, batches: 0 };
}
