// The agent's data path, top-down: source -> normalize (inside the source) -> diff -> spool
// -> stream. One poll at a time, never more often than the interval.
import { CommandKind, type Command, type CommandResult } from '../generated/fleet/v1/agent.js';
import type { Logger } from '../shared/logging/index.js';
import { diffPoll } from './diff/index.js';
import type { CommandKindName, SlurmSource } from './source/source.js';
import type { DeltaSpool } from './spool/index.js';
import type { HubStream } from './stream/index.js';

const COMMAND_NAMES: Partial<Record<CommandKind, CommandKindName>> = {
  [CommandKind.COMMAND_KIND_CANCEL]: 'cancel',
  [CommandKind.COMMAND_KIND_HOLD]: 'hold',
  [CommandKind.COMMAND_KIND_RELEASE]: 'release',
  [CommandKind.COMMAND_KIND_REQUEUE]: 'requeue',
  [CommandKind.COMMAND_KIND_DRAIN]: 'drain',
  [CommandKind.COMMAND_KIND_RESUME]: 'resume',
};

export interface PollStats {
  polls: number;
  failures: number;
  deltas: number;
  lastPollAt?: string;
  lastError?: string;
  apiVersion: string;
}

export class AgentPipeline {
  private timer?: NodeJS.Timeout;
  private running = false;
  private stopped = true;
  readonly stats: PollStats = { polls: 0, failures: 0, deltas: 0, apiVersion: '' };
  stream?: HubStream;

  constructor(
    private readonly deps: { source: SlurmSource; spool: DeltaSpool; logger: Logger },
    private readonly opts: { pollIntervalMs: number },
  ) {}

  start(): void {
    this.stopped = false;
    void this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async loop(): Promise<void> {
    if (this.stopped) return;
    const started = Date.now();
    await this.pollOnce();
    if (this.stopped) return;
    // The interval runs from poll start to poll start; a slow poll delays the next one.
    this.timer = setTimeout(() => void this.loop(), Math.max(0, this.opts.pollIntervalMs - (Date.now() - started)));
  }

  /** One poll cycle. Returns the number of changes spooled. */
  async pollOnce(): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    const { source, spool, logger } = this.deps;
    try {
      const result = await source.poll();
      this.stats.polls++;
      this.stats.lastPollAt = new Date().toISOString();
      this.stats.apiVersion = result.apiVersion;
      this.stats.lastError = undefined;
      for (const [kind, err] of result.failed) logger.warn({ kind, err: err.message }, 'could not read this kind from Slurm; keeping the previous values');
      const { upserts, removals } = diffPoll(spool.objects, result);
      if (upserts.length === 0 && removals.length === 0) return 0;
      const delta = spool.append(upserts, removals);
      this.stats.deltas++;
      logger.debug({ seq: delta.seq, upserts: upserts.length, removals: removals.length }, 'delta spooled');
      this.stream?.notify();
      return upserts.length + removals.length;
    } catch (err) {
      this.stats.failures++;
      this.stats.lastError = (err as Error).message;
      logger.warn({ err: (err as Error).message }, 'poll failed; retrying at the next interval');
      return 0;
    } finally {
      this.running = false;
    }
  }

  async runCommand(command: Command): Promise<CommandResult> {
    const kind = COMMAND_NAMES[command.kind];
    if (!kind) return { id: command.id, ok: false, message: `unknown command kind ${command.kind}`, code: 'SF_AGENT_UNKNOWN_COMMAND', via: '' };
    try {
      const outcome = await this.deps.source.execute({ kind, target: command.target, reason: command.reason });
      return { id: command.id, ok: outcome.ok, message: outcome.message, code: outcome.ok ? '' : 'SF_SLURM_COMMAND_FAILED', via: outcome.via };
    } catch (err) {
      return { id: command.id, ok: false, message: (err as Error).message, code: (err as { code?: string }).code ?? 'SF_AGENT_COMMAND_FAILED', via: '' };
    }
  }
}
