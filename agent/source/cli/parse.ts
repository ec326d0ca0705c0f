// Text output of the Slurm CLI to the model: `scontrol show partition|reservation --oneliner`
// (Key=Value records, one per line), `scontrol ping` and `sacctmgr -P -n` (pipe-separated).
// Pure functions; garbage gives SlurmResponseError.
import { SlurmResponseError } from '../../../shared/errors/index.js';
import type { Account, Association, ControllerHealth, Partition, Qos, Reservation } from '../../../shared/model/index.js';
import { expandHostlist } from '../../../shared/model/index.js';

const EMPTY = new Set(['', '(null)', 'N/A', 'n/a', 'NONE', '(none)']);

/**
 * One `--oneliner` record to its fields. Values may hold spaces and `=` (TRES=cpu=8,mem=1G):
 * a value runs until the next ` Key=`.
 */
export function parseOneliner(line: string): Map<string, string> {
  const fields = new Map<string, string>();
  const re = /(?:^|\s)([A-Za-z][A-Za-z0-9_:/]*)=(.*?)(?=\s+[A-Za-z][A-Za-z0-9_:/]*=|\s*$)/g;
  for (const m of line.matchAll(re)) fields.set(m[1], m[2]);
  return fields;
}

function records(text: string, firstKey: string, what: string): Map<string, string>[] {
  const out: Map<string, string>[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || /^No \w+ in the system/.test(line)) continue;
    const fields = parseOneliner(line);
    if (!fields.has(firstKey)) throw new SlurmResponseError(`${what}: unexpected line "${line.slice(0, 80)}"`);
    out.push(fields);
  }
  return out;
}

const value = (f: Map<string, string>, key: string): string => {
  const v = f.get(key) ?? '';
  return EMPTY.has(v) ? '' : v;
};
const list = (f: Map<string, string>, key: string): string[] => {
  const v = value(f, key);
  return v === '' || v === 'ALL' ? [] : v.split(',').filter((s) => s !== '');
};
const count = (f: Map<string, string>, key: string): number => {
  const n = Number(f.get(key));
  return Number.isInteger(n) && n >= 0 ? n : 0;
};

/** Slurm durations: `[D-]HH:MM:SS`, `MM:SS`, minutes; UNLIMITED/INFINITE/NONE give undefined. */
export function parseSlurmDuration(text: string): number | undefined {
  const t = text.trim();
  if (t === '' || /^(UNLIMITED|INFINITE|NONE|Partition_Limit|\(null\))$/i.test(t)) return undefined;
  const m = /^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$/.exec(t);
  if (!m) return undefined;
  const days = Number(m[1] ?? 0);
  const parts = [m[2], m[3], m[4]].filter((p) => p !== undefined).map(Number);
  let seconds: number;
  if (parts.length === 3) seconds = parts[0] * 3600 + parts[1] * 60 + parts[2];
  else if (parts.length === 2) seconds = m[1] !== undefined ? parts[0] * 3600 + parts[1] * 60 : parts[0] * 60 + parts[1];
  else seconds = m[1] !== undefined ? parts[0] * 3600 : parts[0] * 60;
  return days * 86400 + seconds;
}

/** scontrol prints local time without a zone (`2026-11-27T18:43:59`); the agent shares the controller's zone. */
export function isoFromLocal(text: string): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(text)) return undefined;
  const ms = new Date(text).getTime();
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString().replace('.000Z', 'Z');
}

export function parsePartitions(text: string, cluster: string): Partition[] {
  return records(text, 'PartitionName', 'scontrol show partition').map((f) => {
    const nodeList = value(f, 'Nodes');
    return {
      cluster,
      name: f.get('PartitionName') ?? '',
      state: value(f, 'State').toUpperCase(),
      nodes: expandHostlist(nodeList),
      node_list: nodeList,
      total_cpus: count(f, 'TotalCPUs'),
      total_nodes: count(f, 'TotalNodes'),
      is_default: f.get('Default') === 'YES',
      max_time_s: parseSlurmDuration(f.get('MaxTime') ?? ''),
      default_time_s: parseSlurmDuration(f.get('DefaultTime') ?? ''),
      allowed_accounts: list(f, 'AllowAccounts'),
      allowed_qos: list(f, 'AllowQos'),
      qos: value(f, 'QoS'),
    };
  });
}

export function parseReservations(text: string, cluster: string): Reservation[] {
  return records(text, 'ReservationName', 'scontrol show reservation').map((f) => {
    const nodeList = value(f, 'Nodes');
    return {
      cluster,
      name: f.get('ReservationName') ?? '',
      nodes: expandHostlist(nodeList),
      node_list: nodeList,
      start_time: isoFromLocal(value(f, 'StartTime')),
      end_time: isoFromLocal(value(f, 'EndTime')),
      users: list(f, 'Users'),
      accounts: list(f, 'Accounts'),
      flags: list(f, 'Flags'),
      partition: value(f, 'PartitionName'),
      node_count: count(f, 'NodeCnt'),
      core_count: count(f, 'CoreCnt'),
    };
  });
}

/** `scontrol ping`: "Slurmctld(primary) at head1 is UP", one line per controller. */
export function parsePing(text: string, cluster: string): ControllerHealth[] {
  const out: ControllerHealth[] = [];
  for (const m of text.matchAll(/Slurmctld\((\w+)\) at (\S+) is (\w+)/g)) {
    out.push({ cluster, hostname: m[2], mode: m[1], responding: m[3] === 'UP', api_version: '', slurm_version: '' });
  }
  if (out.length === 0) throw new SlurmResponseError(`scontrol ping: unexpected output "${text.trim().slice(0, 80)}"`);
  return out;
}

/** `sacctmgr -P -n` rows with exactly `columns` fields. */
function rows(text: string, columns: number, what: string): string[][] {
  const out: string[][] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const cells = line.split('|');
    if (cells.length !== columns) throw new SlurmResponseError(`${what}: expected ${columns} columns, got "${line.slice(0, 80)}"`);
    out.push(cells);
  }
  return out;
}
const split = (v: string): string[] => (v === '' ? [] : v.split(','));

export const QOS_FORMAT = 'Name,Description,Priority,MaxWall,Flags,PreemptMode';
export function parseQos(text: string, cluster: string): Qos[] {
  return rows(text, 6, 'sacctmgr show qos').map(([name, description, priority, maxWall, flags, preemptMode]) => ({
    cluster,
    name,
    description,
    priority: Number(priority) || 0,
    max_wall_s: parseSlurmDuration(maxWall),
    flags: split(flags).map((f) => f.toUpperCase()),
    preempt_mode: preemptMode.toUpperCase(),
  }));
}

export const ACCOUNT_FORMAT = 'Account,Description,Organization,Coordinators';
export function parseAccounts(text: string, cluster: string): Account[] {
  return rows(text, 4, 'sacctmgr show account').map(([name, description, organization, coordinators]) => ({
    cluster,
    name,
    description,
    organization,
    coordinators: split(coordinators),
  }));
}

export const ASSOCIATION_FORMAT = 'Account,User,Partition,ParentName,QOS,DefaultQOS,ID';
export function parseAssociations(text: string, cluster: string): Association[] {
  return rows(text, 7, 'sacctmgr show association').map(([account, user, partition, parent, qos, defaultQos, id]) => ({
    cluster,
    account,
    user,
    partition,
    parent_account: parent,
    qos: split(qos),
    default_qos: defaultQos,
    id: /^\d+$/.test(id) ? Number(id) : undefined,
  }));
}
