// The agent's data path, top-down: source -> normalize (inside the source) -> diff -> spool
// -> stream. One poll at a time, never more often than the interval.
// Events the source reports (controller failover, down, up) ride the spool with the poll's
// delta, or on a delta of their own when nothing changed or the source says so between polls:
// delivered once by seq like any change.
import { CommandKind, type Command, type CommandResult, type FleetEvent } from '../generated/fleet/v1/agent.js';
import type { Delta } from '../shared/delta/index.js';
import type { Logger } from '../shared/logging/index.js';
import type { FleetObject, ObjectRef } from '../shared/model/index.js';
import { diffPoll } from './diff/index.js';
import type { CommandKindName, SlurmSource } from './source/source.js';
import type { DeltaSpool } from './spool/index.js';
import type { HistoryWindow } from './source/sacct-history/index.js';
import type { HistoryJob } from '../shared/history/index.js';
import { AssociationRequestError, type AssociationRow } from '../shared/associations/index.js';
import type { HubStream } from './stream/index.js';
import { IdempotencyCache, runSubmit } from './submit/index.js';
import type { Span } from '../shared/tracing/index.js';
import type { SubmitUserRules } from '../shared/submit/index.js';

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
  /** Events spooled. */
  events: number;
  lastPollAt?: string;
  lastError?: string;
  apiVersion: string;
  /** Wall time of the last poll, successful or not (heartbeats and /metrics report it). */
  lastPollSeconds: number;
  /** Kinds a poll could not read from Slurm, summed over polls. */
  readErrors: number;
}

export class AgentPipeline {
  private timer?: NodeJS.Timeout;
  private running = false;
  private stopped = true;
  readonly stats: PollStats = { polls: 0, failures: 0, deltas: 0, events: 0, apiVersion: '', lastPollSeconds: 0, readErrors: 0 };
  stream?: HubStream;
  /** Events taken from the source but not spooled yet (an epoch must start with a real snapshot). */
  private heldEvents: FleetEvent[] = [];
  private eventFlush?: NodeJS.Immediate;
  private readonly idempotency: IdempotencyCache;

  constructor(
    private readonly deps: {
      source: SlurmSource;
      spool: DeltaSpool;
      logger: Logger;
      /** Reads finished runs from slurmdbd for the hub's history backfill (sacct). */
      history?: { read(window: HistoryWindow): Promise<HistoryJob[]> };
      /** Reads and writes association limits (sacctmgr) for the hub's `slurm` quota policy. */
      associations?: { handle(requestJson: string): Promise<AssociationRow[]> };
      /** Spans of each poll (agent/observe PollTrace). */
      trace?: PipelineTrace;
    },
    private readonly opts: { pollIntervalMs: number; submit?: SubmitUserRules; spoolDir?: string },
  ) {
    this.idempotency = new IdempotencyCache({ max: 4096, ...(opts.spoolDir ? { dir: opts.spoolDir } : {}) });
    deps.source.onEvents?.(() => this.scheduleEventFlush());
  }

  /** Polling now (false while standby or stopped). */
  get polling(): boolean {
    return !this.stopped;
  }

  start(): void {
    this.stopped = false;
    void this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.eventFlush) clearImmediate(this.eventFlush);
    this.eventFlush = undefined;
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
    // A spool that went to memory retries its disk, and a lost spool file is rewritten: once per
    // poll, which is the agent's flush interval.
    spool.maintain();
    const started = performance.now();
    const trace = this.deps.trace;
    const span = trace?.beginPoll();
    let spanErr: unknown;
    let changes = 0;
    try {
      const result = await source.poll();
      this.stats.readErrors += result.failed.size;
      this.stats.polls++;
      this.stats.lastPollAt = new Date().toISOString();
      this.stats.apiVersion = result.apiVersion;
      this.stats.lastError = undefined;
      for (const [kind, err] of result.failed) logger.warn({ kind, err: err.message }, 'could not read this kind from Slurm; keeping the previous values');
      const { upserts, removals } = diffPoll(spool.objects, result);
      const events = this.takeEvents();
      if (upserts.length === 0 && removals.length === 0) {
        this.spoolEvents(events);
        return 0;
      }
      const delta = trace ? trace.child(span, 'agent.spool', () => this.append(upserts, removals, events, trace.traceparent(span))) : this.append(upserts, removals, events);
      logger.debug({ seq: delta.seq, upserts: upserts.length, removals: removals.length, events: events.length }, 'delta spooled');
      changes = upserts.length + removals.length;
      span?.setAttribute('sfleet.seq', delta.seq);
      return changes;
    } catch (err) {
      spanErr = err;
      this.stats.failures++;
      this.stats.lastError = (err as Error).message;
      logger.warn({ err: (err as Error).message }, 'poll failed; retrying at the next interval');
      // A failed poll is often when the events happen (the endpoint in use went away).
      try {
        this.flushEvents();
      } catch (spoolErr) {
        logger.warn({ err: (spoolErr as Error).message }, 'could not spool controller events; retrying with the next poll');
      }
      return 0;
    } finally {
      this.stats.lastPollSeconds = (performance.now() - started) / 1000;
      this.running = false;
      trace?.endPoll(span, { 'sfleet.changes': changes }, spanErr);
    }
  }

  /** Spools the events the source has waiting on a delta of their own. Returns how many. */
  flushEvents(): number {
    return this.spoolEvents(this.takeEvents());
  }

  private scheduleEventFlush(): void {
    if (this.eventFlush || this.stopped) return;
    // Coalesce: a down and the failover it causes arrive together and travel in one delta.
    this.eventFlush = setImmediate(() => {
      this.eventFlush = undefined;
      try {
        this.flushEvents();
      } catch (err) {
        this.deps.logger.warn({ err: (err as Error).message }, 'could not spool controller events; retrying with the next poll');
      }
    });
  }

  private takeEvents(): FleetEvent[] {
    const events = [...this.heldEvents, ...(this.deps.source.takeEvents?.() ?? [])];
    this.heldEvents = [];
    return events;
  }

  private spoolEvents(events: FleetEvent[]): number {
    if (events.length === 0) return 0;
    // The first delta of an epoch is its snapshot: an empty one would erase the cluster at the
    // hub. Events wait for the first poll that reads Slurm.
    if (this.deps.spool.lastSeq === 0) {
      this.heldEvents = events;
      return 0;
    }
    const delta = this.append([], [], events);
    this.deps.logger.debug({ seq: delta.seq, events: events.length }, 'events spooled');
    return events.length;
  }

  /** Spools (durably) and wakes the stream; on failure the events wait for the next try. */
  private append(upserts: FleetObject[], removals: ObjectRef[], events: FleetEvent[], traceparent?: string): Delta {
    let delta: Delta;
    try {
      delta = this.deps.spool.append(upserts, removals, events, traceparent);
    } catch (err) {
      this.heldEvents = [...events, ...this.heldEvents];
      throw err;
    }
    this.stats.deltas++;
    this.stats.events += events.length;
    this.stream?.notify();
    return delta;
  }

  async runCommand(command: Command): Promise<CommandResult> {
    if (command.kind === CommandKind.COMMAND_KIND_HISTORY) return this.readHistory(command);
    if (command.kind === CommandKind.COMMAND_KIND_ASSOCIATION) return this.associations(command);
    if (!command.idempotency_key) return { id: command.id, ...(await this.runOnce(command)) };
    const { repeated, ...result } = await this.idempotency.once(command.idempotency_key, () => this.runOnce(command));
    if (repeated) this.deps.logger.info({ key: command.idempotency_key }, 'command repeated: answering with its first result');
    return { id: command.id, ...result };
  }

  private async runOnce(command: Command): Promise<Omit<CommandResult, 'id'>> {
    if (command.kind === CommandKind.COMMAND_KIND_SUBMIT) {
      try {
        return await runSubmit(this.deps.source, this.opts.submit ?? { min_uid: 1000, forbidden: [] }, command.target, command.submit_json);
      } catch (err) {
        return { ok: false, message: (err as Error).message, code: (err as { code?: string }).code ?? 'SF_AGENT_COMMAND_FAILED', via: '', history: [], job_id: '' };
      }
    }
    const kind = COMMAND_NAMES[command.kind];
    if (!kind) return { ok: false, message: `unknown command kind ${command.kind}`, code: 'SF_AGENT_UNKNOWN_COMMAND', via: '', history: [], job_id: '' };
    try {
      const outcome = await this.deps.source.execute({ kind, target: command.target, reason: command.reason });
      return { ok: outcome.ok, message: outcome.message, code: outcome.ok ? '' : 'SF_SLURM_COMMAND_FAILED', via: outcome.via, history: [], job_id: '' };
    } catch (err) {
      return { ok: false, message: (err as Error).message, code: (err as { code?: string }).code ?? 'SF_AGENT_COMMAND_FAILED', via: '', history: [], job_id: '' };
    }
  }

  /** The hub's `slurm` quota policy reads or sets association limits; the rows go back as JSON. */
  private async associations(command: Command): Promise<CommandResult> {
    const result = { id: command.id, via: 'sacctmgr', history: [], job_id: '' };
    if (!this.deps.associations) return { ...result, ok: false, message: 'this agent manages no association limits', code: 'SF_AGENT_UNKNOWN_COMMAND' };
    try {
      const rows = await this.deps.associations.handle(command.association_json ?? '');
      return { ...result, ok: true, message: '', code: '', association_json: JSON.stringify(rows) };
    } catch (err) {
      const code = err instanceof AssociationRequestError ? 'SF_API_BAD_REQUEST' : ((err as { code?: string }).code ?? 'SF_SLURM_COMMAND_FAILED');
      return { ...result, ok: false, message: (err as Error).message, code };
    }
  }

  /** The hub's backfill asks for the runs that ended in a window; they go back in the result. */
  private async readHistory(command: Command): Promise<CommandResult> {
    const fail = (message: string, code: string): CommandResult => ({ id: command.id, ok: false, message, code, via: 'sacct', history: [], job_id: '' });
    if (!this.deps.history) return fail('this agent reads no job history', 'SF_AGENT_UNKNOWN_COMMAND');
    if (!(command.since_ms >= 0 && command.until_ms > command.since_ms)) return fail(`bad history window ${command.since_ms}..${command.until_ms}`, 'SF_BAD_REQUEST');
    try {
      const runs = await this.deps.history.read({ since: command.since_ms, until: command.until_ms });
      const history = runs.map((r) => ({ ...r, start_time: r.start_time ?? undefined }));
      return { id: command.id, ok: true, message: '', code: '', via: 'sacct', history, job_id: '' };
    } catch (err) {
      return fail((err as Error).message, (err as { code?: string }).code ?? 'SF_AGENT_COMMAND_FAILED');
    }
  }
}

/** What the pipeline asks of its tracer (PollTrace, agent/observe). */
export interface PipelineTrace {
  beginPoll(): Span | undefined;
  endPoll(span: Span | undefined, attributes: Record<string, number | string>, err?: unknown): void;
  child<T>(poll: Span | undefined, name: string, fn: () => T): T;
  traceparent(poll: Span | undefined): string | undefined;
}
