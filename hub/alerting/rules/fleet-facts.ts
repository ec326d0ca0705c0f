// What the rules read of the fleet model, computed once per evaluation: which nodes are down,
// which are in maintenance (a MAINT reservation now, or drained by an admin with a reason:
// maintenance is not an incident), per-partition shares and per-cluster job figures.
import type { ClusterRecord } from '../../fleet/index.js';
import type { Job, Node, Reservation } from '../../../shared/model/index.js';

const FAILED_STATES = new Set(['FAILED', 'NODE_FAIL', 'BOOT_FAIL']);
/** Pending reasons that mean "could start now" (not held, not waiting on a dependency or a limit). */
const STARTABLE_REASONS = new Set(['', 'None', 'Priority']);

export function isDown(node: Node): boolean {
  return node.state === 'DOWN' || node.flags.includes('NOT_RESPONDING');
}

export function isDrained(node: Node): boolean {
  return node.flags.includes('DRAIN') || node.state === 'DRAINED' || node.state === 'DRAINING';
}

/** Drained by a person who said why: Slurm's own drains (reason_set_by slurm) are incidents. */
export function adminDrained(node: Node): boolean {
  return isDrained(node) && node.reason.trim() !== '' && node.reason_set_by !== 'slurm';
}

function activeMaint(res: Reservation, now: number): boolean {
  if (!res.flags.some((f) => f.toUpperCase().startsWith('MAINT'))) return false;
  const start = res.start_time ? Date.parse(res.start_time) : -Infinity;
  const end = res.end_time ? Date.parse(res.end_time) : Infinity;
  return start <= now && now < end;
}

export interface ClusterFacts {
  name: string;
  connected: boolean;
  /** Nodes under maintenance now (MAINT reservation or admin drain with a reason). */
  maintenance: Set<string>;
  downNodes: Node[];
  partitions: { name: string; total: number; down: number; drained: number }[];
  jobsPending: number;
  jobsStartable: number;
  jobsRunning: number;
  jobsFailedWindow: number;
  /** Jobs that failed within the window: per node the users whose jobs failed there (black holes). */
  failedUsersByNode: Map<string, Set<string>>;
  /** Failed within the window per partition, and per user (with the user's account). */
  failedByPartition: Map<string, number>;
  failedByUser: Map<string, { count: number; account: string }>;
  lastStartMs: number;
  idleNodes: number;
  nodesTotal: number;
}

export function clusterFacts(record: ClusterRecord, now: number, windowMs: number): ClusterFacts {
  const maintenance = new Set<string>();
  for (const res of record.objects.reservation.values() as Iterable<Reservation>) if (activeMaint(res, now)) for (const n of res.nodes) maintenance.add(n);
  const nodes = record.objects.node as Map<unknown, Node>;
  const downNodes: Node[] = [];
  let idleNodes = 0;
  for (const node of nodes.values()) {
    if (adminDrained(node)) maintenance.add(node.name);
    if (maintenance.has(node.name)) continue;
    if (isDown(node)) downNodes.push(node);
    else if (node.state === 'IDLE' && !isDrained(node)) idleNodes++;
  }
  const partitions = [];
  for (const p of record.objects.partition.values()) {
    let total = 0, down = 0, drained = 0;
    for (const name of p.nodes) {
      if (maintenance.has(name)) continue;
      const node = nodes.get(name);
      if (!node) continue;
      total++;
      if (isDown(node)) down++;
      else if (isDrained(node)) drained++;
    }
    partitions.push({ name: p.name, total, down, drained });
  }
  let jobsPending = 0, jobsStartable = 0, jobsRunning = 0, jobsFailedWindow = 0, lastStartMs = 0;
  const failedUsersByNode = new Map<string, Set<string>>();
  const failedByPartition = new Map<string, number>();
  const failedByUser = new Map<string, { count: number; account: string }>();
  for (const job of record.objects.job.values() as Iterable<Job>) {
    if (job.state === 'PENDING') {
      jobsPending++;
      if (STARTABLE_REASONS.has(job.state_reason)) jobsStartable++;
    } else if (job.state === 'RUNNING') jobsRunning++;
    if (job.start_time) lastStartMs = Math.max(lastStartMs, Date.parse(job.start_time) || 0);
    if (FAILED_STATES.has(job.state) && job.end_time && now - Date.parse(job.end_time) <= windowMs) {
      jobsFailedWindow++;
      for (const n of job.nodes) {
        let users = failedUsersByNode.get(n);
        if (!users) failedUsersByNode.set(n, (users = new Set()));
        users.add(job.user);
      }
      failedByPartition.set(job.partition, (failedByPartition.get(job.partition) ?? 0) + 1);
      const u = failedByUser.get(job.user) ?? { count: 0, account: job.account };
      u.count++;
      failedByUser.set(job.user, u);
    }
  }
  return { name: record.name, connected: record.connected, maintenance, downNodes, partitions, jobsPending, jobsStartable, jobsRunning, jobsFailedWindow, failedUsersByNode, failedByPartition, failedByUser, lastStartMs, idleNodes, nodesTotal: nodes.size };
}
