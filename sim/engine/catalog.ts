// The fixed parts of a simulated cluster: people, accounts, QOS and the job mix. Kept apart from
// the engine so a reader sees the whole "site" in one page.
import type { SimAccount, SimQos, SimUser } from './types.js';

export const ACCOUNTS: readonly SimAccount[] = [
  { name: 'research', description: 'general research', organization: 'science', coordinators: [] },
  { name: 'ops', description: 'operations and benchmarks', organization: 'it', coordinators: [] },
  { name: 'physics', description: 'physics department', organization: 'science', coordinators: [] },
  { name: 'chem', description: 'chemistry department', organization: 'science', coordinators: [] },
];

export const USERS: readonly SimUser[] = [
  { name: 'alice', uid: 1001, accounts: ['research', 'physics'] },
  { name: 'bob', uid: 1002, accounts: ['ops'] },
  { name: 'carol', uid: 1003, accounts: ['physics'] },
  { name: 'dave', uid: 1004, accounts: ['chem'] },
  { name: 'erin', uid: 1005, accounts: ['research'] },
  { name: 'frank', uid: 1006, accounts: ['chem', 'physics'] },
  { name: 'grace', uid: 1007, accounts: ['research'] },
  { name: 'heidi', uid: 1008, accounts: ['ops', 'research'] },
  { name: 'ivan', uid: 1009, accounts: ['physics'] },
  { name: 'judy', uid: 1010, accounts: ['chem'] },
];

export const GROUP = { name: 'users', gid: 100 };

export const QOS: readonly SimQos[] = [
  { id: 1, name: 'normal', description: 'Normal QOS default', priority: 0, flags: [] },
  { id: 2, name: 'high', description: 'high priority', priority: 100, flags: [] },
  { id: 3, name: 'low', description: 'low priority, 60 min max', priority: 0, maxWallMin: 60, flags: [] },
];

/** Extra scheduler priority per QOS (Slurm's PriorityWeightQOS times the QOS' normalized priority). */
export const QOS_PRIORITY_BONUS: Readonly<Record<string, number>> = { high: 10_000, normal: 1_000, low: 0 };

export const JOB_NAMES = [
  'wrap',
  'lammps_run',
  'gromacs_md',
  'train_resnet',
  'vasp_relax',
  'cp2k_opt',
  'analysis.sh',
  'render_frames',
  'bwa_align',
  'postproc',
  'nightly_bench',
  'ensemble',
] as const;

/** CPUs of a single-node job (clipped to the node size) and how often each is asked for. */
export const CPU_CHOICES: readonly (readonly [number, number])[] = [
  [1, 30],
  [2, 15],
  [4, 20],
  [8, 15],
  [16, 10],
  [-1, 5], // a whole node
];
/** Share of batch jobs that take 2 to 4 whole nodes. */
export const MULTI_NODE_SHARE = 0.05;

export const TIME_LIMITS_MIN: readonly (readonly [number, number])[] = [
  [30, 30],
  [60, 30],
  [120, 25],
  [240, 15],
];
export const DEBUG_TIME_LIMITS_MIN: readonly (readonly [number, number])[] = [
  [10, 50],
  [30, 50],
];

export const OUTCOMES = [
  ['COMPLETED', 85],
  ['FAILED', 10],
  ['TIMEOUT', 5],
] as const;

export const FAIL_EXIT_CODES = [1, 1, 1, 2, 3, 127] as const;

export const NODE_FAILURE_REASONS = [
  'Not responding',
  'Kill task failed',
  'hardware: DIMM error',
  'NHC: check_fs_mount: /scratch not mounted',
  'Node unexpectedly rebooted',
] as const;

export function userByName(name: string): SimUser | undefined {
  return USERS.find((u) => u.name === name);
}
