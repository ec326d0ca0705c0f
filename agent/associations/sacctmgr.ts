// Association limits of this agent's cluster, read and written with sacctmgr (the hub has no
// Slurm tools; its `slurm` quota policy sends requests here). Every write names this cluster
// (slurmdbd may serve several) and one association: the account's own (`modify account`) or a
// user's in one account (`modify user`). Values come only from a checked request.
import { SlurmResponseError } from '../../shared/errors/index.js';
import { COUNT_KEYS, parseAssociationRequest, parseTres, sacctmgrSetArgs, type AssociationLimits, type AssociationRow } from '../../shared/associations/index.js';
import type { SlurmRunner } from '../source/slurm-commands/index.js';

const FORMAT = 'Account,User,Partition,GrpJobs,GrpSubmit,GrpTRES,MaxJobs,MaxSubmit';

export class SacctmgrAssociations {
  private cluster: string | undefined;

  constructor(private readonly deps: { run: SlurmRunner }) {}

  /** Answers a request (JSON): the cluster's associations, after the write for `set`. */
  async handle(requestJson: string): Promise<AssociationRow[]> {
    const request = parseAssociationRequest(requestJson);
    if (request.op === 'set') {
      const cluster = await this.clusterName();
      const where = request.user ? ['user', 'where', `name=${request.user}`, `account=${request.account}`] : ['account', 'where', `name=${request.account}`];
      const result = await this.deps.run('sacctmgr', ['-i', 'modify', ...where, `cluster=${cluster}`, 'set', ...sacctmgrSetArgs(request.set)]);
      // "Nothing modified": the values were already there (another writer got there first).
      if (result.code !== 0 && !/nothing modified/i.test(result.stdout + result.stderr)) {
        throw new SlurmResponseError(`sacctmgr modify ${request.user ? `user ${request.user} in account` : 'account'} ${request.account}: ${firstLine(result.stderr || result.stdout)}`);
      }
      const rows = await this.list();
      if (!rows.some((r) => r.account === request.account && r.user === request.user)) {
        throw new SlurmResponseError(`sacctmgr: there is no association of ${request.user ? `user ${request.user} in account` : 'account'} ${request.account} on cluster ${cluster}`);
      }
      return rows;
    }
    return this.list();
  }

  async list(): Promise<AssociationRow[]> {
    const cluster = await this.clusterName();
    const result = await this.deps.run('sacctmgr', ['-n', '-P', 'show', 'assoc', 'where', `cluster=${cluster}`, `format=${FORMAT}`]);
    if (result.code !== 0) throw new SlurmResponseError(`sacctmgr show assoc: ${firstLine(result.stderr || result.stdout)}`);
    return parseAssociations(result.stdout);
  }

  /** Slurm's ClusterName (the fleet's name for the cluster may differ), read once. */
  private async clusterName(): Promise<string> {
    if (this.cluster) return this.cluster;
    const result = await this.deps.run('scontrol', ['show', 'config']);
    const m = /^ClusterName\s*=\s*(\S+)/m.exec(result.stdout);
    if (result.code !== 0 || !m) throw new SlurmResponseError(`scontrol show config did not name the cluster: ${firstLine(result.stderr)}`);
    this.cluster = m[1];
    return this.cluster;
  }
}

/** `sacctmgr -n -P show assoc format=FORMAT` -> rows; partition-specific associations are left out. */
export function parseAssociations(stdout: string): AssociationRow[] {
  const rows: AssociationRow[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.trim()) continue;
    const f = line.split('|');
    if (f.length < 8) throw new SlurmResponseError(`sacctmgr printed ${f.length} fields where 8 were asked for`);
    const [account, user, partition, grpJobs, grpSubmit, grpTres, maxJobs, maxSubmit] = f as [string, string, string, string, string, string, string, string];
    if (partition) continue;
    const counts = [grpJobs, grpSubmit, maxJobs, maxSubmit];
    const limits: AssociationLimits = { ...parseTres(grpTres) };
    COUNT_KEYS.forEach((key, i) => {
      if (/^\d+$/.test(counts[i]!)) limits[key] = counts[i];
    });
    rows.push({ account, user, limits });
  }
  return rows;
}

const firstLine = (text: string): string => text.trim().split('\n')[0]?.slice(0, 300) ?? '';
