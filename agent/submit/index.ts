// Submission on the agent: the spec and the user checked again here (the agent trusts no hub
// with who a job runs as), then the source submits as that user.
import type { CommandResult } from '../../generated/fleet/v1/agent.js';
import { checkSubmitSpec, checkSubmitUser, lookupUser, type SubmitUserRules } from '../../shared/submit/index.js';
import type { SlurmSource } from '../source/source.js';

export { IdempotencyCache } from './idempotency.js';

export async function runSubmit(source: SlurmSource, rules: SubmitUserRules, user: string, specJson: string): Promise<Omit<CommandResult, 'id'>> {
  if (!source.submit) return { ok: false, message: 'this agent\'s Slurm source cannot submit jobs (use the rest source)', code: 'SF_AGENT_CANNOT_SUBMIT', via: '', history: [], job_id: '' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(specJson);
  } catch {
    return { ok: false, message: 'submit: the job spec is not JSON', code: 'SF_API_BAD_REQUEST', via: '', history: [], job_id: '' };
  }
  const spec = checkSubmitSpec(parsed);
  const entry = await lookupUser(user);
  checkSubmitUser(user, entry, rules);
  if (!entry) return { ok: false, message: `submit: there is no user ${user} on the cluster`, code: 'SF_AUTH_FORBIDDEN', via: '', history: [], job_id: '' };
  const outcome = await source.submit({ spec, user, home: entry.home });
  return { ok: outcome.ok, message: outcome.message, code: outcome.ok ? '' : 'SF_SLURM_COMMAND_FAILED', via: outcome.via, history: [], job_id: outcome.job_id };
}
