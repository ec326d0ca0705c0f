// A SlurmSource whose cluster the test edits directly: it drives the stream tests, where
// the point is delivery (seq, spool, resume), not Slurm parsing (real Slurm and the simulator
// cover that in their own tests).
import type { CommandOutcome, PollResult, SlurmCommand, SlurmSource } from '../../agent/source/source.js';
import { emptyClusterModel, type ClusterModel, type Job, type Node } from '../../shared/model/index.js';

export function makeJob(cluster: string, id: number, extra: Partial<Job> = {}): Job {
  return {
    cluster, id, name: `job${id}`, user: 'alice', account: 'research', partition: 'debug', qos: 'normal', state: 'PENDING',
    state_flags: [], state_reason: 'Priority', nodes: [], node_list: '', cpus: 1, node_count: 1, working_dir: '/tmp', comment: '', tres: '', ...extra,
  };
}

export function makeNode(cluster: string, name: string, extra: Partial<Node> = {}): Node {
  return {
    cluster, name, state: 'IDLE', flags: [], reason: '', cpus: 4, alloc_cpus: 0, memory_mb: 8000, alloc_memory_mb: 0,
    partitions: ['debug'], features: [], gres: '', reason_set_by: '', address: name, hostname: name, slurm_version: '22.05.8', ...extra,
  };
}

export class ScriptedSource implements SlurmSource {
  readonly name = 'rest' as const;
  model: ClusterModel = emptyClusterModel();
  polls = 0;
  fail?: Error;
  readonly executed: SlurmCommand[] = [];

  constructor(readonly cluster: string) {}

  async poll(): Promise<PollResult> {
    this.polls++;
    if (this.fail) throw this.fail;
    const copy = emptyClusterModel();
    for (const k of Object.keys(copy) as (keyof ClusterModel)[]) (copy[k] as unknown[]) = this.model[k].map((o) => ({ ...o }));
    return { model: copy, unchanged: new Set(), failed: new Map(), apiVersion: 'v0.0.38', endpoint: 'scripted' };
  }

  async execute(command: SlurmCommand): Promise<CommandOutcome> {
    this.executed.push(command);
    if (command.kind === 'cancel') {
      const job = this.model.job.find((j) => String(j.id) === command.target);
      if (!job) return { ok: false, message: `Invalid job id specified: ${command.target}`, via: 'scripted' };
      job.state = 'CANCELLED';
    }
    if (command.kind === 'drain') {
      const node = this.model.node.find((n) => n.name === command.target);
      if (!node) return { ok: false, message: `Invalid node name specified: ${command.target}`, via: 'scripted' };
      node.flags = ['DRAIN'];
      node.reason = command.reason ?? '';
    }
    return { ok: true, message: `${command.kind} ${command.target} done`, via: 'scripted' };
  }

  async close(): Promise<void> {}
}
