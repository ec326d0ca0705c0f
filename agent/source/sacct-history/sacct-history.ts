// Finished job runs from slurmdbd, read with `sacct`, for the hub's job history and its backfill.
//
// Why sacct and not /slurmdb/v0.0.38/jobs: on Slurm 22.05 the REST job record (and `sacct
// --json`, same data parser) reports exit_code SUCCESS/0 for a job sacct shows as FAILED 3:0,
// so a history built from it would not equal `sacct`. The parseable text output is the
// reference itself. `SLURM_TIME_FORMAT=%s` makes every time an epoch second (no local zone),
// and a unit-separator delimiter keeps job names with "|" in one field.
// The runner must set SLURM_TIME_FORMAT=%s (createHistoryReader in agent/source/index.ts does).
import { expandHostlist } from '../../../shared/model/hostlist.js';
import { parseAllocTres, type HistoryJob } from '../../../shared/history/index.js';
import { SlurmResponseError } from '../../../shared/errors/index.js';
import type { SlurmRunner } from '../slurm-commands/index.js';

export const SACCT_FIELDS = [
  'JobIDRaw', 'Cluster', 'User', 'Account', 'Partition', 'QOS', 'State', 'ExitCode',
  'Submit', 'Start', 'End', 'AllocTRES', 'NodeList', 'JobName',
] as const;

/** Every state a run can end in; with --state, -S/-E select runs that ended in the window. */
export const ENDED_STATES = 'BF,CA,CD,DL,F,NF,OOM,PR,RQ,TO';

const SEP = '\u001f';

export interface HistoryWindow {
  /** Epoch ms, inclusive. */
  since: number;
  /** Epoch ms, exclusive. */
  until: number;
}

/** sacct's arguments for one window; -a (every user), -X (allocations, no steps), --duplicates (every run). */
export function sacctArgs(window: HistoryWindow): string[] {
  const sec = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19);
  return [
    '-a', '-X', '--duplicates', '--parsable2', '--noheader', `--delimiter=${SEP}`,
    '-S', sec(window.since), '-E', sec(window.until), '--state', ENDED_STATES,
    '-o', SACCT_FIELDS.join(','),
  ];
}

function epochMs(value: string): number | null {
  if (!/^\d+$/.test(value) || value === '0') return null;
  return Number(value) * 1000;
}

/** One line of `sacct` output in SACCT_FIELDS order; throws SlurmResponseError on a malformed one. */
export function parseSacctLine(line: string): HistoryJob {
  const f = line.split(SEP);
  if (f.length !== SACCT_FIELDS.length) {
    throw new SlurmResponseError(`sacct printed ${f.length} fields where ${SACCT_FIELDS.length} were asked for`);
  }
  const [idRaw, cluster, user, account, partition, qos, state, exit, submit, start, end, tres, nodeList, name] = f as [
    string, string, string, string, string, string, string, string, string, string, string, string, string, string,
  ];
  const jobId = Number(idRaw);
  const submitMs = epochMs(submit);
  const endMs = epochMs(end);
  if (!Number.isSafeInteger(jobId) || jobId <= 0) throw new SlurmResponseError(`sacct printed a job id "${idRaw.slice(0, 32)}" that is not a number`);
  if (submitMs === null || endMs === null) throw new SlurmResponseError(`sacct printed job ${jobId} without a submit or end time`);
  const [code, signal] = exit.split(':');
  const counts = parseAllocTres(tres);
  const assigned = nodeList && nodeList !== 'None assigned' ? nodeList : '';
  return {
    cluster,
    job_id: jobId,
    submit_time: submitMs,
    start_time: epochMs(start),
    end_time: endMs,
    name,
    user,
    account,
    partition,
    qos,
    // "CANCELLED by 0" is one state; the uid is not part of it.
    state: state.split(' ')[0] ?? state,
    exit_code: Number(code) || 0,
    exit_signal: Number(signal) || 0,
    alloc_tres: tres,
    ...counts,
    node_list: assigned,
    nodes: assigned ? expandHostlist(assigned) : [],
  };
}

export function parseSacctOutput(stdout: string): HistoryJob[] {
  return stdout.split('\n').filter((l) => l.length > 0).map(parseSacctLine);
}

/**
 * Reads the runs of the local Slurm cluster that ended in a window, labelled with the fleet's
 * name for the cluster (the operator's, which need not be Slurm's ClusterName). The runner
 * brings timeouts and output caps.
 */
export class SacctHistoryReader {
  constructor(private readonly deps: { run: SlurmRunner; cluster: string }) {}

  async read(window: HistoryWindow, signal?: AbortSignal): Promise<HistoryJob[]> {
    const result = await this.deps.run('sacct', sacctArgs(window), signal);
    if (result.code !== 0) {
      throw new SlurmResponseError(`sacct exited with ${result.code}: ${result.stderr.trim().slice(0, 200)}`);
    }
    return parseSacctOutput(result.stdout).map((job) => ({ ...job, cluster: this.deps.cluster }));
  }
}
