// The actions a caller may take on each row it is shown (the dashboard draws only these buttons):
// the gate's decision for the command's permission, its row filter for that verb, and whether the
// command means anything in the object's state (no "release" for a job that is not held).
// Decided once per request and verb, then one row-filter test per row.
import type { Job, Node } from '../../shared/model/index.js';
import { JOB_COMMANDS, NODE_COMMANDS } from '../commands/index.js';
import type { Visibility } from '../policy/index.js';

const ACTIVE = new Set(['PENDING', 'RUNNING', 'SUSPENDED', 'REQUEUED', 'CONFIGURING', 'RESIZING']);
const HELD = /^JobHeld(User|Admin)$/;

const JOB_APPLIES: Record<string, (job: Job) => boolean> = {
  cancel: (j) => ACTIVE.has(j.state),
  hold: (j) => j.state === 'PENDING' && !HELD.test(j.state_reason),
  release: (j) => j.state === 'PENDING' && HELD.test(j.state_reason),
  requeue: (j) => j.state === 'RUNNING' || j.state === 'SUSPENDED',
};

const drained = (n: Node): boolean => n.flags.includes('DRAIN') || n.state === 'DRAIN' || n.state === 'DRAINED' || n.state === 'DRAINING';
const NODE_APPLIES: Record<string, (node: Node) => boolean> = {
  drain: (n) => !drained(n),
  resume: (n) => drained(n) || n.state === 'DOWN' || n.flags.includes('DOWN'),
};

function actionsOf<T>(visibility: Visibility, resource: 'jobs' | 'nodes', kind: 'job' | 'node', commands: readonly string[], applies: Record<string, (o: T) => boolean>): (o: T) => string[] {
  const allowed = commands.filter((c) => visibility.decide(`${resource}:${c}`).allowed).map((c) => ({ name: c, rows: visibility.rows(resource, c), applies: applies[c] ?? (() => true) }));
  return (o) => {
    const out: string[] = [];
    for (const a of allowed) if (a.applies(o) && a.rows.allows(kind, o)) out.push(a.name);
    return out;
  };
}

/** Per job: the commands (cancel, hold, release, requeue) this caller may run on it now. */
export function jobActions(visibility: Visibility): (job: Job) => string[] {
  return actionsOf(visibility, 'jobs', 'job', JOB_COMMANDS, JOB_APPLIES);
}

/** Per node: drain and/or resume, as this caller may. */
export function nodeActions(visibility: Visibility): (node: Node) => string[] {
  return actionsOf(visibility, 'nodes', 'node', NODE_COMMANDS, NODE_APPLIES);
}
