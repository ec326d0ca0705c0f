// Commands (cancel, hold, release, drain, resume, requeue) over slurmrestd: the REST endpoint the
// negotiated version has, else the simulator's command endpoint, else scontrol/scancel. Slurm's
// refusal (an `errors` list) becomes ok:false with its words; an answer that is no answer throws.
import { SlurmUnavailableError } from '../../../shared/errors/index.js';
import { parseSlurmResponse, type VersionAdapter } from '../../normalize/index.js';
import { describeCommand, executeWithCli, type SlurmRunner } from '../slurm-commands/index.js';
import type { CommandOutcome, SlurmCommand } from '../source.js';
import { compareVersions } from './negotiate.js';
import type { RestResponse } from './rest-exchange.js';

/** The negotiated slurmrestd API. */
export interface RestApi {
  version: string;
  adapter: VersionAdapter;
  simulator: boolean;
}

/** How commands reach Slurm (RestSource provides these). */
export interface CommandChannel {
  cluster: string;
  /** A slurmrestd request on the source's transport (throws when the version is gone). */
  request(path: string, method: 'GET' | 'POST' | 'DELETE', body: unknown, signal?: AbortSignal): Promise<RestResponse>;
  /** The simulator's stand-in for scontrol: POST /sim/v1/command {kind, target, reason}. */
  simCommand(command: SlurmCommand, signal?: AbortSignal): Promise<RestResponse>;
  /** scontrol / scancel, for what the REST API cannot do. */
  run: SlurmRunner;
}

const ACTIVE_JOB_STATES = new Set(['PENDING', 'RUNNING', 'SUSPENDED']);

/** Runs a checked command on the negotiated version. */
export async function executeRestCommand(api: RestApi, command: SlurmCommand, channel: CommandChannel, signal?: AbortSignal): Promise<CommandOutcome> {
  const v = api.version;
  const { kind, target } = command;
  const rest = async (method: 'POST' | 'DELETE', path: string, payload: unknown): Promise<CommandOutcome> =>
    commandOutcome(command, await channel.request(path, method, payload, signal), 'rest');
  switch (kind) {
    case 'cancel': {
      // slurmrestd answers a DELETE of a job that already ended with success (v0.0.38: 200, no
      // error); scancel says "already completing or completed". Report it the same way.
      const ended = await endedState(api, target, channel, signal);
      if (ended) return { ok: false, message: `${describeCommand(command)}: job already finished (${ended})`, via: 'rest' };
      return rest('DELETE', `/slurm/${v}/job/${target}`, undefined);
    }
    case 'hold':
    case 'release':
      return rest('POST', `/slurm/${v}/job/${target}`, { hold: kind === 'hold' });
    case 'drain':
    case 'resume':
      // v0.0.38 (Slurm 22.05) has no node update endpoint.
      if (compareVersions(v, 'v0.0.39') >= 0) {
        const update = kind === 'drain' ? { state: ['DRAIN'], reason: command.reason } : { state: ['RESUME'] };
        return rest('POST', `/slurm/${v}/node/${target}`, update);
      }
      break;
    case 'requeue':
      break; // no REST endpoint in any version
  }
  if (api.simulator) return commandOutcome(command, await channel.simCommand(command, signal), 'sim');
  return executeWithCli(command, channel.run, signal);
}

/** The state of a job that has ended; undefined when it is active or unknown (DELETE will say). */
async function endedState(api: RestApi, id: string, channel: CommandChannel, signal?: AbortSignal): Promise<string | undefined> {
  const res = await channel.request(`/slurm/${api.version}/job/${id}`, 'GET', undefined, signal);
  if (res.status !== 200) return undefined;
  try {
    const parsed = parseSlurmResponse(res.status, res.contentType, res.text, 'job');
    const jobs = parsed.unchanged ? [] : api.adapter.jobs(parsed.body, channel.cluster);
    return jobs.length > 0 && jobs.every((j) => !ACTIVE_JOB_STATES.has(j.state)) ? jobs[0].state : undefined;
  } catch {
    return undefined;
  }
}

/** Slurm's refusal (an `errors` list) is ok:false with its words; no usable answer throws. */
function commandOutcome(command: SlurmCommand, res: RestResponse, via: string): CommandOutcome {
  const what = describeCommand(command);
  if (res.status === 401 || res.status === 403 || res.status === 511) {
    throw new SlurmUnavailableError(`slurmrestd refused our credentials (HTTP ${res.status}) for ${what}`, res.status);
  }
  let doc: { ok?: unknown; message?: unknown; errors?: unknown } | undefined;
  try {
    doc = res.text.trimStart().startsWith('{') ? JSON.parse(res.text) : undefined;
  } catch {
    doc = undefined;
  }
  const refusal = slurmErrors(doc?.errors);
  if (refusal.length > 0) return { ok: false, message: `${what}: ${refusal.join('; ').slice(0, 500)}`, via };
  // The simulator answers {ok, message}.
  if (typeof doc?.ok === 'boolean') return { ok: doc.ok, message: `${what}: ${String(doc.message ?? (doc.ok ? 'done' : 'refused'))}`, via };
  if (res.status >= 200 && res.status < 300) return { ok: true, message: `${what}: done`, via };
  throw new SlurmUnavailableError(`slurmrestd answered HTTP ${res.status} to ${what}`, res.status);
}

/** The words of the real errors in an `errors` list ("No error" / error_number 0 entries are not). */
export function slurmErrors(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  const out: string[] = [];
  for (const e of list as { description?: unknown; error?: unknown; error_number?: unknown; errno?: unknown }[]) {
    const number = typeof e?.error_number === 'number' ? e.error_number : e?.errno;
    const text = typeof e?.error === 'string' ? e.error : '';
    if ((typeof number === 'number' && number !== 0) || (text !== '' && text !== 'No error')) {
      const description = typeof e.description === 'string' ? e.description : '';
      if (text === '' || description.includes(text)) out.push(description || `error ${String(number)}`);
      else out.push(description === '' ? text : `${text} (${description})`);
    }
  }
  return out;
}
