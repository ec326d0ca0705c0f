import { describe, expect, it } from 'vitest';
import { SlurmResponseError } from '../../../shared/errors/index.js';
import {
  isoFromLocal,
  parseAccounts,
  parseAssociations,
  parseOneliner,
  parsePartitions,
  parsePing,
  parseQos,
  parseReservations,
  parseSlurmDuration,
} from './parse.js';

// Slurm 22.05 output, trimmed.
const PARTITIONS = `PartitionName=debug AllowGroups=ALL AllowAccounts=ALL AllowQos=ALL AllocNodes=ALL Default=YES QoS=N/A DefaultTime=00:05:00 MaxTime=00:30:00 Nodes=node[1-2] State=UP TotalCPUs=8 TotalNodes=2 TRES=cpu=8,mem=16000M,node=2,billing=8
PartitionName=batch AllowGroups=ALL AllowAccounts=research,ops AllowQos=high QoS=high Default=NO DefaultTime=1-00:00:00 MaxTime=UNLIMITED Nodes=node[1-5] State=DOWN TotalCPUs=20 TotalNodes=5
`;
const RESERVATIONS = `ReservationName=maint StartTime=2026-11-27T18:43:59 EndTime=2026-11-27T19:43:59 Duration=01:00:00 Nodes=node[3-4] NodeCnt=2 CoreCnt=8 Features=(null) PartitionName=(null) Flags=MAINT,SPEC_NODES TRES=cpu=8 Users=root Groups=(null) Accounts=(null) Licenses=(null) State=INACTIVE
ReservationName=resv2 StartTime=2026-11-26T18:44:00 EndTime=2026-11-26T20:44:00 Duration=02:00:00 Nodes=node1 NodeCnt=1 CoreCnt=4 PartitionName=batch Flags= TRES=cpu=4 Users=(null) Accounts=research State=ACTIVE
`;

describe('scontrol --oneliner', () => {
  it('splits Key=Value records whose values hold = and spaces', () => {
    const f = parseOneliner('Name=a TRES=cpu=8,mem=1G Reason=disk is full [root@2026] State=UP');
    expect(Object.fromEntries(f)).toEqual({ Name: 'a', TRES: 'cpu=8,mem=1G', Reason: 'disk is full [root@2026]', State: 'UP' });
  });

  it('reads partitions', () => {
    const [debug, batch] = parsePartitions(PARTITIONS, 'c1');
    expect(debug).toEqual({
      cluster: 'c1',
      name: 'debug',
      state: 'UP',
      nodes: ['node1', 'node2'],
      node_list: 'node[1-2]',
      total_cpus: 8,
      total_nodes: 2,
      is_default: true,
      max_time_s: 1800,
      default_time_s: 300,
      allowed_accounts: [],
      allowed_qos: [],
      qos: '',
    });
    expect(batch).toMatchObject({ state: 'DOWN', is_default: false, max_time_s: undefined, default_time_s: 86400, allowed_accounts: ['research', 'ops'], allowed_qos: ['high'], qos: 'high' });
    expect(batch.nodes).toHaveLength(5);
  });

  it('reads reservations, converting local times to UTC', () => {
    const [maint, resv2] = parseReservations(RESERVATIONS, 'c1');
    expect(maint).toMatchObject({ name: 'maint', node_list: 'node[3-4]', nodes: ['node3', 'node4'], users: ['root'], accounts: [], flags: ['MAINT', 'SPEC_NODES'], partition: '', node_count: 2, core_count: 8 });
    expect(maint.start_time).toBe(new Date('2026-11-27T18:43:59').toISOString().replace('.000Z', 'Z'));
    expect(resv2).toMatchObject({ partition: 'batch', accounts: ['research'], users: [], flags: [] });
    expect(parseReservations('No reservations in the system\n', 'c1')).toEqual([]);
  });

  it('throws SlurmResponseError on garbage', () => {
    expect(() => parsePartitions('Segmentation fault\n', 'c1')).toThrow(SlurmResponseError);
    expect(() => parsePing('hello', 'c1')).toThrow(SlurmResponseError);
  });

  it('reads scontrol ping', () => {
    expect(parsePing('Slurmctld(primary) at head1 is UP\nSlurmctld(backup) at head2 is DOWN\n', 'c1')).toEqual([
      { cluster: 'c1', hostname: 'head1', mode: 'primary', responding: true, api_version: '', slurm_version: '' },
      { cluster: 'c1', hostname: 'head2', mode: 'backup', responding: false, api_version: '', slurm_version: '' },
    ]);
  });

  it('reads Slurm durations and local times', () => {
    expect(parseSlurmDuration('00:30:00')).toBe(1800);
    expect(parseSlurmDuration('2-03:00:00')).toBe(2 * 86400 + 3 * 3600);
    expect(parseSlurmDuration('1-12')).toBe(86400 + 12 * 3600);
    expect(parseSlurmDuration('05:30')).toBe(330);
    expect(parseSlurmDuration('45')).toBe(2700);
    expect(parseSlurmDuration('UNLIMITED')).toBeUndefined();
    expect(parseSlurmDuration('soon')).toBeUndefined();
    expect(isoFromLocal('Unknown')).toBeUndefined();
  });
});

describe('sacctmgr -P -n', () => {
  it('reads qos, accounts and associations', () => {
    expect(parseQos('normal|Normal QOS default|0|||cluster\nlow|low, 10 min max|0|00:10:00|DenyOnLimit|cluster\n', 'c1')).toEqual([
      { cluster: 'c1', name: 'normal', description: 'Normal QOS default', priority: 0, max_wall_s: undefined, flags: [], preempt_mode: 'CLUSTER' },
      { cluster: 'c1', name: 'low', description: 'low, 10 min max', priority: 0, max_wall_s: 600, flags: ['DENYONLIMIT'], preempt_mode: 'CLUSTER' },
    ]);
    expect(parseAccounts('research|research group|lab|alice,bob\n', 'c1')).toEqual([
      { cluster: 'c1', name: 'research', description: 'research group', organization: 'lab', coordinators: ['alice', 'bob'] },
    ]);
    expect(parseAssociations('research|alice|||high,normal|normal|5\nresearch||||high||3\n', 'c1')).toEqual([
      { cluster: 'c1', account: 'research', user: 'alice', partition: '', parent_account: '', qos: ['high', 'normal'], default_qos: 'normal', id: 5 },
      { cluster: 'c1', account: 'research', user: '', partition: '', parent_account: '', qos: ['high'], default_qos: '', id: 3 },
    ]);
  });

  it('throws on rows with the wrong number of columns', () => {
    expect(() => parseQos('sacctmgr: error: Problem talking to the database\n', 'c1')).toThrow(/expected 6 columns/);
  });
});
