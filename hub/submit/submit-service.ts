// A submit through the hub: the caller's Slurm user (mapped, never root, the SlurmUser or a system
// account), admission against quota, then the cluster's agent, which checks the user again and
// answers a repeated idempotency key with its first result.
import { randomUUID } from 'node:crypto';
import { BadRequestError, ForbiddenError, NotFoundError } from '../../shared/errors/index.js';
import { checkSubmitSpec, checkSubmitUser, lookupUser, type PasswdEntry } from '../../shared/submit/index.js';
import { AgentCommandTimeoutError, commandKey, type CommandRouter } from '../commands/index.js';
import type { Principal, Visibility } from '../policy/index.js';
import type { AdmissionControl } from './admission.js';
import type { SubmitConfig } from './config.js';

const KEY = /^[A-Za-z0-9._:-]{1,128}$/;
const MAX_REMEMBERED = 4096;

export interface SubmitAnswer {
  job_id: string;
  cluster: string;
  user: string;
  message: string;
  idempotency_key: string;
}

export class SubmitService {
  /** Keys this hub answered (per caller), so a repeat is not admitted against quota twice. */
  private readonly answered = new Map<string, Promise<SubmitAnswer>>();

  constructor(
    private readonly deps: { commands: CommandRouter; admission: AdmissionControl; lookup?: (name: string) => Promise<PasswdEntry | undefined> },
    private readonly config: SubmitConfig,
  ) {}

  /** The Slurm user a caller submits as; ForbiddenError for root, the SlurmUser, low uids, unmapped service accounts. */
  async slurmUser(p: Principal): Promise<string> {
    const mapped = this.config.user_map[p.name];
    if (!mapped && p.role === 'service') throw new ForbiddenError(`service account ${p.name} has no submit.user_map entry: it submits only as the user its config names`);
    const user = mapped ?? p.name;
    if (!/^[a-z_][a-z0-9_.-]{0,31}$/i.test(user)) throw new ForbiddenError(`"${user.slice(0, 40)}" is not a Slurm user name`);
    const rules = { min_uid: this.config.min_uid, forbidden: [this.config.slurm_user] };
    checkSubmitUser(user, undefined, rules);
    // The hub may not know the cluster's users; where it does, the uid is checked here too.
    checkSubmitUser(user, await (this.deps.lookup ?? lookupUser)(user), rules);
    return user;
  }

  async submit(access: Visibility, cluster: string, body: unknown, key: string | undefined): Promise<SubmitAnswer> {
    if (key !== undefined && !KEY.test(key)) throw new BadRequestError('Idempotency-Key: 1 to 128 letters, digits or . _ : -');
    const spec = checkSubmitSpec(body);
    if (!access.rows('jobs').allows('cluster', { name: cluster }) || !access.inTenant({ cluster, ...(spec.account ? { account: spec.account } : {}) })) {
      throw new NotFoundError(`no cluster ${cluster} (or account ${spec.account ?? '-'}) you may submit to`);
    }
    const user = await this.slurmUser(access.principal);
    const idempotencyKey = key ?? randomUUID();
    const memo = `${access.principal.name}\u0000${cluster}\u0000${idempotencyKey}`;
    const seen = this.answered.get(memo);
    if (seen) return seen;
    // The agent remembers results by key alone: a client's key is scoped to this caller and target
    // there, so another caller's same key never gets this caller's job.
    const agentKey = key !== undefined ? commandKey(access.principal.name, cluster, 'submit', user, key) : idempotencyKey;
    const run = this.run(cluster, user, spec, access.principal.name, idempotencyKey, agentKey);
    this.answered.set(memo, run);
    run.catch(() => this.answered.delete(memo)); // refusals are not remembered here: the agent remembers Slurm's
    while (this.answered.size > MAX_REMEMBERED) this.answered.delete(this.answered.keys().next().value as string);
    return run;
  }

  private async run(cluster: string, user: string, spec: ReturnType<typeof checkSubmitSpec>, requestedBy: string, key: string, agentKey: string): Promise<SubmitAnswer> {
    const handle = await this.deps.admission.admit(cluster, spec.account, user, spec);
    try {
      const result = await this.deps.commands.submit(cluster, user, spec, requestedBy, agentKey);
      await this.deps.admission.submitted(handle, result.job_id);
      return { job_id: result.job_id, cluster, user, message: result.message, idempotency_key: key };
    } catch (err) {
      // A timeout may still have submitted: the reservation then stays until its ttl.
      if (!(err instanceof AgentCommandTimeoutError)) await this.deps.admission.release(handle);
      throw err;
    }
  }
}
