// Read commands: clusters, jobs, nodes, partitions, job, watch.
import type { Command } from 'commander';
import type { ClusterStatusView } from '../../hub/api/cluster-status.js';
import type { JobView } from '../../hub/api/views.js';
import type { nodeView } from '../../hub/api/views.js';
import type { Partition } from '../../shared/model/index.js';
import { render, type Column } from '../output/render.js';
import { clientFrom, formatFrom, splitTarget, withConnection, withOutput } from './connection-options.js';
import { parseScope, PartialRegions, scopedColumns, SCOPE_HELP } from './scope.js';

type NodeView = ReturnType<typeof nodeView>;

const JOB_COLUMNS: Column<JobView>[] = [
  { header: 'CLUSTER', value: (j) => j.cluster },
  { header: 'JOBID', value: (j) => (j.array_task_id !== null ? `${j.array_job_id}_${j.array_task_id}` : j.array_task_string ? `${j.array_job_id}_[${j.array_task_string}]` : j.id) },
  { header: 'NAME', value: (j) => j.name },
  { header: 'USER', value: (j) => j.user },
  { header: 'ACCOUNT', value: (j) => j.account },
  { header: 'PARTITION', value: (j) => j.partition },
  { header: 'STATE', value: (j) => j.state },
  { header: 'REASON', value: (j) => j.state_reason },
  { header: 'NODES', value: (j) => j.node_list },
];

const NODE_COLUMNS: Column<NodeView>[] = [
  { header: 'CLUSTER', value: (n) => n.cluster },
  { header: 'NAME', value: (n) => n.name },
  { header: 'STATE', value: (n) => n.state },
  { header: 'FLAGS', value: (n) => n.flags },
  { header: 'CPUS', value: (n) => `${n.alloc_cpus}/${n.cpus}` },
  { header: 'MEMORY_MB', value: (n) => n.memory_mb },
  { header: 'PARTITIONS', value: (n) => n.partitions },
  { header: 'REASON', value: (n) => n.reason },
];

const CLUSTER_COLUMNS: Column<ClusterStatusView>[] = [
  { header: 'NAME', value: (c) => c.name },
  { header: 'CONNECTED', value: (c) => (c.connected ? 'yes' : 'no') },
  // A peer region on an older version answers without state.
  { header: 'STATE', value: (c) => c.state ?? (c.connected ? 'connected' : 'disconnected') },
  { header: 'AGENT', value: (c) => c.agent },
  { header: 'API', value: (c) => c.slurm_api_version },
  { header: 'JOBS', value: (c) => c.jobs },
  { header: 'NODES', value: (c) => c.nodes },
  { header: 'SEQ', value: (c) => c.seq },
  { header: 'LAST_DELTA', value: (c) => c.last_delta_at },
];

const PARTITION_COLUMNS: Column<Partition>[] = [
  { header: 'CLUSTER', value: (p) => p.cluster },
  { header: 'NAME', value: (p) => (p.is_default ? `${p.name}*` : p.name) },
  { header: 'STATE', value: (p) => p.state },
  { header: 'NODES', value: (p) => p.total_nodes },
  { header: 'CPUS', value: (p) => p.total_cpus },
  { header: 'NODELIST', value: (p) => p.node_list },
];

function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function registerQueryCommands(program: Command): void {
  withOutput(withConnection(program.command('clusters').description('list clusters and their stream status').option('--scope <scope>', SCOPE_HELP))).action(async (opts) => {
    const scope = parseScope(opts.scope);
    const partial = new PartialRegions();
    const page = await clientFrom(opts).json<{ items: ClusterStatusView[]; partial?: string[] }>('GET', `/api/v1/clusters${scope === 'global' ? '?scope=global' : ''}`);
    partial.note(page);
    print(render(page.items, formatFrom(opts), scopedColumns(CLUSTER_COLUMNS, scope)));
    partial.warn();
  });

  withOutput(
    withConnection(
      program
        .command('jobs')
        .description('list jobs across the fleet')
        .option('--cluster <name>')
        .option('--state <state>', 'PENDING, RUNNING, COMPLETED, ...')
        .option('--user <user>')
        .option('--account <account>')
        .option('--partition <partition>')
        .option('--node <node>', 'jobs that run on this node')
        .option('--limit <n>', 'at most this many jobs', (v) => Number(v))
        .option('--scope <scope>', SCOPE_HELP),
    ),
  ).action(async (opts) => {
    const scope = parseScope(opts.scope);
    const partial = new PartialRegions();
    const jobs = await clientFrom(opts).all<JobView>(
      '/api/v1/jobs',
      { cluster: opts.cluster, state: opts.state, user: opts.user, account: opts.account, partition: opts.partition, node: opts.node, limit: opts.limit ? Math.min(opts.limit, 5000) : 5000, scope: scope === 'global' ? scope : undefined },
      opts.limit ?? Infinity,
      (page) => partial.note(page),
    );
    print(render(jobs, formatFrom(opts), scopedColumns(JOB_COLUMNS, scope)));
    partial.warn();
  });

  withOutput(withConnection(program.command('job <cluster/id>').description('show one job'))).action(async (ref: string, opts) => {
    const { cluster, target } = splitTarget(ref, 'job');
    const job = await clientFrom(opts).json<JobView>('GET', `/api/v1/jobs/${encodeURIComponent(cluster)}/${encodeURIComponent(target)}`);
    const format = formatFrom(opts);
    print(format === 'table' ? render(job, 'yaml', []) : render(job, format, JOB_COLUMNS));
  });

  withOutput(
    withConnection(
      program
        .command('nodes')
        .description('list nodes across the fleet')
        .option('--cluster <name>')
        .option('--state <state>', 'IDLE, MIXED, ALLOCATED, DOWN, or a flag such as DRAIN')
        .option('--partition <partition>')
        .option('--scope <scope>', SCOPE_HELP),
    ),
  ).action(async (opts) => {
    const scope = parseScope(opts.scope);
    const partial = new PartialRegions();
    const nodes = await clientFrom(opts).all<NodeView>(
      '/api/v1/nodes',
      { cluster: opts.cluster, state: opts.state, partition: opts.partition, limit: 5000, scope: scope === 'global' ? scope : undefined },
      Infinity,
      (page) => partial.note(page),
    );
    print(render(nodes, formatFrom(opts), scopedColumns(NODE_COLUMNS, scope)));
    partial.warn();
  });

  withOutput(withConnection(program.command('partitions').description('list partitions').option('--cluster <name>').option('--scope <scope>', SCOPE_HELP))).action(async (opts) => {
    const scope = parseScope(opts.scope);
    const partial = new PartialRegions();
    const q = new URLSearchParams();
    if (opts.cluster) q.set('cluster', opts.cluster);
    if (scope === 'global') q.set('scope', scope);
    const page = await clientFrom(opts).json<{ items: Partition[]; partial?: string[] }>('GET', `/api/v1/partitions${q.size ? `?${q}` : ''}`);
    partial.note(page);
    print(render(page.items, formatFrom(opts), scopedColumns(PARTITION_COLUMNS, scope)));
    partial.warn();
  });

  withOutput(
    withConnection(
      program
        .command('watch')
        .description('follow fleet changes as they happen (Ctrl-C to stop)')
        .option('--cluster <name>')
        .option('--kinds <list>', 'comma list of job,node,partition,reservation,qos,account,association,controller', 'job,node'),
    ),
  ).action(async (opts) => {
    const client = clientFrom(opts);
    const format = formatFrom(opts);
    const q = new URLSearchParams();
    if (opts.cluster) q.set('cluster', opts.cluster);
    if (opts.kinds) q.set('kinds', opts.kinds);
    let lastId: string | undefined;
    let failures = 0;
    for (;;) {
      try {
        await client.stream(`/api/v1/watch?${q}`, lastId, (e) => {
          failures = 0;
          if (e.id) lastId = e.id;
          const data = JSON.parse(e.data || '{}') as { kind?: string; cluster?: string; id?: string; object?: { state?: string } };
          if (format === 'json') print(JSON.stringify({ event: e.event, id: e.id, ...data }));
          else if (e.event === 'reset') print(`${new Date().toISOString()}  reset  (the hub restarted or too much was missed; list again for the full picture)`);
          else print(`${new Date().toISOString()}  ${e.event.padEnd(6)}  ${data.kind} ${data.cluster}/${data.id}${data.object?.state ? `  ${data.object.state}` : ''}`);
        }, (place) => (lastId = place));
      } catch (err) {
        if (++failures > 30 || (err as { status?: number }).status) throw err;
        process.stderr.write(`watch: ${(err as Error).message}; reconnecting\n`);
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  });
}
