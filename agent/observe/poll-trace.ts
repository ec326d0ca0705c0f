// The agent's spans: one per poll (agent.poll), a child per read of Slurm (slurm.read: each
// slurmrestd request or CLI run made while the poll is in progress), the spool write
// (agent.spool) and the send of each delta (agent.send). The poll's W3C traceparent is spooled
// with its delta, so the hub's apply span joins the same trace.
import type { ReadTrace } from '../source/deps.js';
import { endSpan, type Span, type Tracing } from '../../shared/tracing/index.js';

export class PollTrace implements ReadTrace {
  /** The poll in progress (polls never overlap). */
  private current?: Span;

  constructor(readonly tracing: Tracing) {}

  get enabled(): boolean {
    return this.tracing.enabled;
  }

  /** A poll starts: its root span (sampled by ratio), or none when tracing is off. */
  beginPoll(): Span | undefined {
    if (!this.tracing.enabled) return undefined;
    this.current = this.tracing.startSpan('agent.poll');
    return this.current;
  }

  endPoll(span: Span | undefined, attributes: Record<string, number | string>, err?: unknown): void {
    if (!span) return;
    if (this.current === span) this.current = undefined;
    span.setAttributes(attributes);
    endSpan(span, err);
  }

  start(what: string): (err?: unknown) => void {
    const parent = this.current;
    if (!parent?.isRecording()) return () => undefined;
    const span = this.tracing.startSpan('slurm.read', { parent, attributes: { 'sfleet.read': what } });
    return (err) => endSpan(span, err);
  }

  /** A child of the poll (e.g. the spool write); ends with `fn`. */
  child<T>(poll: Span | undefined, name: string, fn: () => T): T {
    if (!poll?.isRecording()) return fn();
    const span = this.tracing.startSpan(name, { parent: poll });
    try {
      const out = fn();
      endSpan(span);
      return out;
    } catch (err) {
      endSpan(span, err);
      throw err;
    }
  }

  traceparent(poll: Span | undefined): string | undefined {
    return poll ? this.tracing.traceparent(poll) : undefined;
  }

  /** The send of a traced delta to the hub: from the write until gRPC took it. */
  send(traceparent: string | undefined, seq: number): Span | undefined {
    if (!traceparent || !this.tracing.enabled) return undefined;
    return this.tracing.startSpan('agent.send', { parent: traceparent, attributes: { 'sfleet.seq': seq } });
  }
}
