// Test fixture: a FleetState with one cluster whose objects a test sets by hand, an injected
// clock, and channels that record what they are sent. Imported by this room's tests only.
import type { ManualClock } from '../../shared/clock/index.js';
import type { Job, Node, Reservation } from '../../shared/model/index.js';
import { FleetState } from '../fleet/index.js';
import { alertingConfigSchema, type ChannelConfig } from './config.js';
import type { Notification, Notifier } from './notify/index.js';

export function node(name: string, state = 'IDLE', extra: Partial<Node> = {}): Node {
  return { cluster: 'c1', name, state, flags: [], reason: '', cpus: 4, alloc_cpus: 0, memory_mb: 1024, alloc_memory_mb: 0, partitions: ['batch'], features: [], gres: '', reason_set_by: '', address: name, hostname: name, slurm_version: '22.05', ...extra };
}

export function job(id: number, state: string, extra: Partial<Job> = {}): Job {
  return { cluster: 'c1', id, name: `j${id}`, user: 'u', account: 'a', partition: 'batch', qos: 'normal', state, state_flags: [], state_reason: 'None', nodes: [], node_list: '', cpus: 1, node_count: 1, working_dir: '/', comment: '', tres: '', ...extra };
}

export function reservation(name: string, nodes: string[], flags: string[], clock: ManualClock): Reservation {
  return { cluster: 'c1', name, nodes, node_list: nodes.join(','), start_time: new Date(clock.now() - 60_000).toISOString(), end_time: new Date(clock.now() + 3_600_000).toISOString(), users: [], accounts: [], flags, partition: '', node_count: nodes.length, core_count: 0 };
}

export class Fleet {
  readonly state: FleetState;
  constructor(clock: ManualClock, nodes = 4) {
    this.state = new FleetState({ clock });
    const rec = this.state.cluster('c1');
    rec.connected = true;
    const names: string[] = [];
    for (let i = 1; i <= nodes; i++) {
      names.push(`n${i}`);
      this.setNode(node(`n${i}`));
    }
    rec.objects.partition.set('batch', { cluster: 'c1', name: 'batch', state: 'UP', nodes: names, node_list: '', total_cpus: 0, total_nodes: names.length, is_default: true, allowed_accounts: [], allowed_qos: [], qos: '' });
  }
  get record() {
    return this.state.cluster('c1');
  }
  setNode(n: Node): void {
    this.record.objects.node.set(n.name as never, n);
  }
  down(name: string, extra: Partial<Node> = {}): void {
    this.setNode(node(name, 'DOWN', { reason: 'x', reason_set_by: 'root', ...extra }));
  }
  up(name: string): void {
    this.setNode(node(name));
  }
}

/** Channels that record every notification and answer delivered. */
export class Recorder {
  readonly sent: { channel: string; n: Notification }[] = [];
  factory = (c: ChannelConfig): Notifier => ({
    name: c.name,
    type: c.type,
    send: async (n) => {
      this.sent.push({ channel: c.name, n });
      return { outcome: 'delivered' };
    },
  });
  of(channel: string, status?: string): Notification[] {
    return this.sent.filter((s) => s.channel === channel && (!status || s.n.status === status)).map((s) => s.n);
  }
  clear(): void {
    this.sent.length = 0;
  }
}

export const CHANNELS = [
  { type: 'email', endpoint: 'oncall@example.com' },
  { type: 'pagerduty', integration_key: 'k' },
  { type: 'slack', webhook: 'https://hooks.example/x' },
  { type: 'webhook', name: 'boss', url: 'http://127.0.0.1:9/boss' },
];

export function config(extra: Record<string, unknown> = {}) {
  return alertingConfigSchema.parse({ channels: CHANNELS, group_wait: '10s', group_interval: '1m', keep_firing_for: '2m', ...extra });
}
