// Commands as Slurm client calls (scancel, scontrol), shared by the CLI source and by the
// slurmrestd source where its API version has no endpoint for a command.
import { BadRequestError, SlurmUnavailableError } from '../../../shared/errors/index.js';
import type { CommandOutcome, SlurmCommand } from '../source.js';
import { controllerUnreachable, firstError, type SlurmRunner } from './run.js';

const JOB_ID = /^\d{1,20}$/;
const NODE_NAME = /^[A-Za-z0-9._-]{1,128}$/;
const JOB_KINDS = new Set(['cancel', 'hold', 'release', 'requeue']);
const NODE_KINDS = new Set(['drain', 'resume']);
export const DEFAULT_DRAIN_REASON = 'drained by sfleet';

/**
 * The command with a checked target and a cleaned reason, or BadRequestError. Targets go into
 * argv and URL paths, so only digits (jobs) and plain host names (nodes) pass.
 */
export function checkCommand(command: SlurmCommand): SlurmCommand {
  const { kind, target } = command;
  if (JOB_KINDS.has(kind)) {
    if (!JOB_ID.test(target)) throw new BadRequestError(`${kind}: job id must be digits, got "${String(target).slice(0, 40)}"`);
    return { kind, target };
  }
  if (NODE_KINDS.has(kind)) {
    if (!NODE_NAME.test(target)) throw new BadRequestError(`${kind}: invalid node name "${String(target).slice(0, 40)}"`);
    return kind === 'drain' ? { kind, target, reason: cleanReason(command.reason) } : { kind, target };
  }
  throw new BadRequestError(`unknown command "${String(kind).slice(0, 40)}"`);
}

/** A drain reason as one printable line of at most 200 characters. */
export function cleanReason(reason: string | undefined): string {
  // eslint-disable-next-line no-control-regex
  const text = (reason ?? '').replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200);
  return text === '' ? DEFAULT_DRAIN_REASON : text;
}

/** The client call for a checked command. */
export function cliCall(command: SlurmCommand): { binary: string; args: string[] } {
  const { kind, target } = command;
  switch (kind) {
    case 'cancel':
      // -v: without it scancel says nothing and exits 0 for an unknown or finished job.
      return { binary: 'scancel', args: ['-v', target] };
    case 'hold':
    case 'release':
    case 'requeue':
      return { binary: 'scontrol', args: [kind, target] };
    case 'drain':
      return { binary: 'scontrol', args: ['update', `nodename=${target}`, 'state=drain', `reason=${command.reason ?? DEFAULT_DRAIN_REASON}`] };
    case 'resume':
      return { binary: 'scontrol', args: ['update', `nodename=${target}`, 'state=resume'] };
  }
}

export function describeCommand(command: SlurmCommand): string {
  return NODE_KINDS.has(command.kind) ? `${command.kind} node ${command.target}` : `${command.kind} job ${command.target}`;
}

/**
 * Runs a checked command through the Slurm client. Slurm's refusal is `ok: false` with its
 * message; a controller that cannot be reached throws SlurmUnavailableError.
 */
export async function executeWithCli(command: SlurmCommand, run: SlurmRunner, signal?: AbortSignal): Promise<CommandOutcome> {
  const { binary, args } = cliCall(command);
  const via = binary;
  const result = await run(binary, args, signal);
  // scancel -v reports refusals as "error:" lines with exit code 0.
  const refused = result.code !== 0 || /\berror:/i.test(result.stderr);
  if (!refused) return { ok: true, message: `${describeCommand(command)}: done`, via };
  if (controllerUnreachable(result.stderr)) {
    throw new SlurmUnavailableError(`${binary} could not reach slurmctld: ${firstError(result.stderr)}`);
  }
  const errorLine = result.stderr.split('\n').find((l) => /\berror\b/i.test(l)) ?? '';
  return { ok: false, message: `${describeCommand(command)}: ${firstError(errorLine || result.stderr, result.stdout)}`, via };
}
