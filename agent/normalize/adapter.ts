// The contract every slurmrestd version adapter meets. Re-exported by index.ts.
import type {
  Account,
  Association,
  ControllerDiag,
  ControllerHealth,
  Job,
  Node,
  Partition,
  Qos,
  Reservation,
} from '../../shared/model/index.js';

export type ApiVersion = 'v0.0.38' | 'v0.0.39' | 'v0.0.40' | 'v0.0.41' | 'v0.0.42' | 'v0.0.43' | 'v0.0.44';

/** The controller load figures of GET /slurm/vX/diag that ControllerHealth carries. */
export interface DiagSummary {
  server_thread_count?: number;
  agent_queue_size?: number;
  jobs_running?: number;
  jobs_pending?: number;
  /** Scheduler, job and RPC statistics (absent when diag carries none of them). */
  diag?: ControllerDiag;
}

/**
 * Pure functions from one slurmrestd API version's parsed JSON body to the model. Each
 * throws SlurmResponseError (naming version, kind and index) when a record lacks its
 * identity; odd optional fields fall back to empty values instead.
 */
export interface VersionAdapter {
  readonly version: ApiVersion;
  /** GET /slurm/vX/jobs and /slurm/vX/job/{id}. */
  jobs(body: unknown, cluster: string): Job[];
  /** GET /slurm/vX/nodes and /slurm/vX/node/{name}. */
  nodes(body: unknown, cluster: string): Node[];
  /** One element of the `jobs` list (a streamed answer, see list-stream.ts); `index` names it in errors. */
  jobAt(item: unknown, index: number, cluster: string): Job;
  /** One element of the `nodes` list. */
  nodeAt(item: unknown, index: number, cluster: string): Node;
  partitions(body: unknown, cluster: string): Partition[];
  reservations(body: unknown, cluster: string): Reservation[];
  /** GET /slurmdb/vX/qos. */
  qos(body: unknown, cluster: string): Qos[];
  /** GET /slurmdb/vX/accounts. */
  accounts(body: unknown, cluster: string): Account[];
  /** GET /slurmdb/vX/associations. */
  associations(body: unknown, cluster: string): Association[];
  /** GET /slurm/vX/ping: one entry per controller slurmrestd pinged. */
  ping(body: unknown, cluster: string): ControllerHealth[];
  /** GET /slurm/vX/diag. */
  diag(body: unknown): DiagSummary;
}
