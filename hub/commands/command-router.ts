// Commands from API callers to the agent that owns the cluster, and their results back.
import { createHash, randomUUID } from 'node:crypto';
import { CommandKind, type Command, type CommandResult, type HistoryRun } from '../../generated/fleet/v1/agent.js';
import { BadRequestError, ForbiddenError } from '../../shared/errors/index.js';
import type { SubmitSpec } from '../../shared/submit/index.js';
import type { AssociationRequest, AssociationRow } from '../../shared/associations/index.js';
import { AgentCommandTimeoutError, AgentNotConnectedError, SlurmRefusedError } from './errors.js';

export const COMMAND_KINDS = {
  cancel: CommandKind.COMMAND_KIND_CANCEL,
  hold: CommandKind.COMMAND_KIND_HOLD,
  release: CommandKind.COMMAND_KIND_RELEASE,
  requeue: CommandKind.COMMAND_KIND_REQUEUE,
  drain: CommandKind.COMMAND_KIND_DRAIN,
  resume: CommandKind.COMMAND_KIND_RESUME,
} as const;
export type CommandName = keyof typeof COMMAND_KINDS;

export const JOB_COMMANDS: readonly CommandName[] = ['cancel', 'hold', 'release', 'requeue'];
export const NODE_COMMANDS: readonly CommandName[] = ['drain', 'resume'];

/** What a client may send as Idempotency-Key. */
export const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The key a job or node command carries to the agent: the client's Idempotency-Key scoped to the
 * caller and the command (the agent keys its first results by this alone, so one caller's key
 * never answers another's command), or a new one per request. Either way a forward that is cut
 * after the agent ran the command and is sent again gets the first result, not a second run.
 */
export function commandKey(requestedBy: string, cluster: string, name: string, target: string, clientKey?: string): string {
  if (clientKey === undefined || clientKey === '') return randomUUID();
  if (!IDEMPOTENCY_KEY.test(clientKey)) throw new BadRequestError('Idempotency-Key: 1 to 128 letters, digits or . _ : -');
  return `k:${createHash('sha256').update([requestedBy, cluster, name, target, clientKey].join('\u0000')).digest('base64url')}`;
}

interface Waiter {
  cluster: string;
  resolve: (result: CommandResult) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** Hands a command to the hub of the group that holds the cluster's agent; its raw result back. */
export interface CommandForwarding {
  forward(cluster: string, command: Command): Promise<CommandResult>;
}

export class CommandRouter {
  private readonly senders = new Map<string, (command: Command) => void>();
  private readonly waiting = new Map<string, Waiter>();
  private forwarding?: CommandForwarding;

  constructor(private readonly opts: { timeoutMs: number }) {}

  /** The ingest layer registers the active stream of a cluster. Returns the detach function. */
  attach(cluster: string, send: (command: Command) => void): () => void {
    this.senders.set(cluster, send);
    return () => {
      if (this.senders.get(cluster) === send) {
        this.senders.delete(cluster);
        this.failCluster(cluster, `the agent of cluster ${cluster} disconnected before answering`);
      }
    };
  }

  /** `idempotencyKey` from commandKey(); without one the command gets a new key (so a re-sent forward still runs once). */
  async run(cluster: string, name: string, target: string, reason: string, requestedBy: string, idempotencyKey?: string): Promise<CommandResult> {
    const kind = COMMAND_KINDS[name as CommandName];
    if (kind === undefined) throw new BadRequestError(`unknown command "${name}"`);
    if (NODE_COMMANDS.includes(name as CommandName)) {
      if (!/^[A-Za-z0-9._-]{1,128}$/.test(target)) throw new BadRequestError(`invalid node name "${target.slice(0, 64)}"`);
    } else if (!/^\d{1,12}$/.test(target)) throw new BadRequestError(`invalid job id "${target.slice(0, 64)}"`);
    if (name === 'drain' && !reason.trim()) throw new BadRequestError('drain needs a reason (Slurm requires one)');
    if (reason.length > 1024) throw new BadRequestError('reason is longer than 1024 characters');
    return this.send(cluster, { id: randomUUID(), kind, target, reason, requested_by: requestedBy, since_ms: 0, until_ms: 0, idempotency_key: idempotencyKey || randomUUID(), submit_json: '' });
  }

  /** A checked job spec submitted as `slurmUser`; the agent checks both again. */
  submit(cluster: string, slurmUser: string, spec: SubmitSpec, requestedBy: string, idempotencyKey: string): Promise<CommandResult> {
    const command: Command = { id: randomUUID(), kind: CommandKind.COMMAND_KIND_SUBMIT, target: slurmUser, reason: '', requested_by: requestedBy, since_ms: 0, until_ms: 0, idempotency_key: idempotencyKey, submit_json: JSON.stringify(spec) };
    return this.send(cluster, command);
  }

  /** The runs of `cluster` that ended in [since, until), read by its agent from slurmdbd (sacct). */
  async history(cluster: string, window: { since: number; until: number }): Promise<HistoryRun[]> {
    const command: Command = {
      id: randomUUID(), kind: CommandKind.COMMAND_KIND_HISTORY, target: '', reason: '', requested_by: 'history backfill',
      since_ms: window.since, until_ms: window.until, idempotency_key: '', submit_json: '',
    };
    const result = await this.send(cluster, command).catch((err: unknown) => {
      throw err instanceof SlurmRefusedError ? new SlurmRefusedError(err.message || 'the agent could not read the job history') : err;
    });
    return result.history;
  }

  /** The cluster's association limits, read (and for `set` first written) by its agent with sacctmgr. */
  async association(cluster: string, request: AssociationRequest, requestedBy: string): Promise<AssociationRow[]> {
    const command: Command = {
      id: randomUUID(), kind: CommandKind.COMMAND_KIND_ASSOCIATION, target: '', reason: '', requested_by: requestedBy,
      since_ms: 0, until_ms: 0, idempotency_key: '', submit_json: '', association_json: JSON.stringify(request),
    };
    const result = await this.send(cluster, command);
    try {
      return JSON.parse(result.association_json ?? '') as AssociationRow[];
    } catch {
      throw new SlurmRefusedError(`the agent of cluster ${cluster} sent no association list (an older agent?)`);
    }
  }

  /** Whether an agent of the cluster is connected to this hub (commands can reach it). */
  connected(cluster: string): boolean {
    return this.senders.has(cluster);
  }

  /** In a hub group: a command for a cluster whose agent is connected to another hub goes there (with its idempotency key). */
  forwardWith(forwarding: CommandForwarding): void {
    this.forwarding = forwarding;
  }

  /** A command another hub forwarded: to this hub's agent only, never forwarded again (no loops); the agent's raw result. */
  runForwarded(cluster: string, command: Command): Promise<CommandResult> {
    return this.deliver(cluster, command, false);
  }

  private async send(cluster: string, command: Command): Promise<CommandResult> {
    const result = await this.deliver(cluster, command, true);
    if (!result.ok) {
      // The agent's own refusals keep their kind (a user it will not submit as is 403).
      if (result.code === 'SF_AUTH_FORBIDDEN') throw new ForbiddenError(result.message);
      if (result.code === 'SF_API_BAD_REQUEST') throw new BadRequestError(result.message);
      throw new SlurmRefusedError(result.message || 'Slurm refused the command');
    }
    return result;
  }

  private deliver(cluster: string, command: Command, mayForward: boolean): Promise<CommandResult> {
    const send = this.senders.get(cluster);
    if (!send) {
      if (mayForward && this.forwarding) return this.forwarding.forward(cluster, command);
      return Promise.reject(new AgentNotConnectedError(`no agent of cluster ${cluster} is connected to this hub`));
    }
    return new Promise<CommandResult>((resolve, reject) => {
      // A forward sent again carries the same id: the earlier caller hears the same answer, and
      // only the newest waiter's timer counts (it never removes a later waiter).
      const earlier = this.waiting.get(command.id);
      if (earlier) clearTimeout(earlier.timer);
      const waiter: Waiter = {
        cluster,
        resolve: (result) => {
          earlier?.resolve(result);
          resolve(result);
        },
        reject: (err) => {
          earlier?.reject(err);
          reject(err);
        },
        timer: setTimeout(() => {
          if (this.waiting.get(command.id) === waiter) this.waiting.delete(command.id);
          waiter.reject(new AgentCommandTimeoutError(`the agent of cluster ${cluster} did not answer within ${this.opts.timeoutMs} ms`));
        }, this.opts.timeoutMs),
      };
      this.waiting.set(command.id, waiter);
      send(command);
    });
  }

  resolve(result: CommandResult): void {
    const waiter = this.waiting.get(result.id);
    if (!waiter) return;
    clearTimeout(waiter.timer);
    this.waiting.delete(result.id);
    waiter.resolve(result);
  }

  private failCluster(cluster: string, message: string): void {
    for (const [id, waiter] of this.waiting) {
      if (waiter.cluster !== cluster) continue;
      clearTimeout(waiter.timer);
      this.waiting.delete(id);
      waiter.reject(new AgentNotConnectedError(message));
    }
  }
}
