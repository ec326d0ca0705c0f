// The cluster the engine starts with: numbered nodes, the debug and batch partitions, a
// maintenance reservation and the slurmdbd association tree. Built once, from the options and
// the seeded Prng, so the same seed gives the same layout.
import { ACCOUNTS, QOS, USERS } from './catalog.js';
import type { ResolvedEngineOptions } from './options.js';
import type { Prng } from './prng.js';
import type { SimAssociation, SimNode, SimPartition, SimReservation } from './types.js';

/** Node names are zero-padded to at least this many digits (cn001), like most sites' naming. */
const MIN_WIDTH = 3;

/** The nodes, named prefix + zero-padded number, idle, booted some time in the last month. */
export function buildNodes(o: ResolvedEngineOptions, rng: Prng, now: number): SimNode[] {
  const width = Math.max(MIN_WIDTH, String(o.nodes).length);
  const nodes: SimNode[] = [];
  for (let i = 0; i < o.nodes; i++) {
    const name = o.nodePrefix + String(i + 1).padStart(width, '0');
    const boot = now - rng.int(86_400, 30 * 86_400);
    const node: SimNode = {
      index: i,
      name,
      cpus: o.cpusPerNode,
      sockets: o.socketsPerNode,
      coresPerSocket: o.cpusPerNode / o.socketsPerNode,
      threadsPerCore: 1,
      memoryMb: o.memoryPerNodeMb,
      allocCpus: 0,
      allocMemMb: 0,
      coreOwner: new Int32Array(o.cpusPerNode),
      partitions: [],
      features: [i % 2 === 0 ? 'cpu_gen_a' : 'cpu_gen_b'],
      down: false,
      drain: false,
      reason: '',
      reasonSetBy: '',
      reasonTime: 0,
      bootTime: boot,
      slurmdStartTime: boot + 60,
      lastBusy: now - rng.int(0, 3600),
      bucket: -1,
      seq: 0,
    };
    nodes.push(node);
  }
  return nodes;
}

/** debug (the first quarter of the nodes) and batch (all of them); adds each to its nodes. */
export function buildPartitions(nodes: SimNode[]): SimPartition[] {
  const all = nodes.map((n) => n.index);
  const debugCount = Math.max(1, Math.floor(nodes.length / 4));
  const parts: SimPartition[] = [
    { name: 'debug', nodes: all.slice(0, debugCount), isDefault: false, maxTimeMin: 30, defaultTimeMin: 10, state: 'UP', priorityTier: 1 },
    { name: 'batch', nodes: all, isDefault: true, defaultTimeMin: 60, state: 'UP', priorityTier: 1 },
  ];
  for (const p of parts) for (const i of p.nodes) nodes[i].partitions.push(p.name);
  return parts;
}

/** A maintenance reservation on the last nodes, two days ahead. */
export function buildReservations(allNodes: SimNode[], now: number): SimReservation[] {
  const count = Math.max(1, Math.floor(allNodes.length / 16));
  const nodes = allNodes.slice(allNodes.length - count).map((n) => n.index);
  const start = (Math.floor(now / 86_400) + 2) * 86_400 + 6 * 3600;
  return [{ name: 'maint', nodes, startTime: start, endTime: start + 4 * 3600, users: ['root'], accounts: [], flags: ['MAINT', 'SPEC_NODES'], partition: '' }];
}

/** slurmdbd's association tree: root, one per account, one per user and account. */
export function buildAssociations(): SimAssociation[] {
  const qos = QOS.map((q) => q.name).sort();
  const out: SimAssociation[] = [];
  let id = 1;
  out.push({ id: id++, account: 'root', user: '', partition: '', parentAccount: '', qos, defaultQos: '', isDefault: false });
  out.push({ id: id++, account: 'root', user: 'root', partition: '', parentAccount: '', qos, defaultQos: '', isDefault: true });
  for (const a of ACCOUNTS) out.push({ id: id++, account: a.name, user: '', partition: '', parentAccount: 'root', qos, defaultQos: '', isDefault: false });
  for (const u of USERS) {
    u.accounts.forEach((account, i) => {
      out.push({ id: id++, account, user: u.name, partition: '', parentAccount: '', qos, defaultQos: 'normal', isDefault: i === 0 });
    });
  }
  return out;
}
