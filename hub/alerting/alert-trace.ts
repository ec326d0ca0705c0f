// The traces of alerts. An alert's cause is the apply whose state the evaluation that first saw
// its condition read: the cluster's newest apply at that moment, when the agent traced it
// (sampled) and this hub applied it. When the alert fires, a `hub.alert.fire` span is made, a
// child of that apply (so it sits in the agent's poll trace: poll -> apply -> fire -> notify), or
// a root span sampled by ratio when there is no traced cause (an intake alert, a certificate, a
// cluster nobody traced). Every notification of the alert is a child of its fire span
// (notify/deliver.ts says why a child rather than a link). The fire span's traceparent is kept on
// the alert (`fire_trace`), which the alerting state persists: after a restart, or on a new
// leader that took the region's state over, later escalation steps stay in the alert's trace. The
// pending alerts' causes are in memory only: an alert that fires after a restart gets a root span.
import { SpanKind, traceparentOf, type SpanContext, type Tracing } from '../../shared/tracing/index.js';
import type { Alert } from './model.js';

export class AlertTraces {
  /** fingerprint -> traceparent of the apply it was first seen after (pending alerts) */
  private readonly causes = new Map<string, string>();

  constructor(
    private readonly tracing: Tracing | undefined,
    private readonly applyCause: ((cluster: string) => SpanContext | undefined) | undefined,
  ) {}

  private get on(): boolean {
    return !!this.tracing?.enabled;
  }

  /** After an evaluation: alerts first seen in it (active since `iso`) remember their cluster's newest traced apply. */
  seen(alerts: Iterable<Alert>, iso: string): void {
    if (!this.on || !this.applyCause) return;
    for (const a of alerts) {
      if (a.active_since !== iso || this.causes.has(a.fingerprint) || !a.labels.cluster) continue;
      const cause = this.applyCause(a.labels.cluster);
      if (cause) this.causes.set(a.fingerprint, traceparentOf(cause));
    }
  }

  /** Alerts that started firing: one `hub.alert.fire` span each. */
  fired(alerts: readonly Alert[]): void {
    const tracing = this.tracing;
    if (!tracing?.enabled) return;
    for (const a of alerts) {
      const cause = this.causes.get(a.fingerprint);
      this.causes.delete(a.fingerprint);
      const span = tracing.startSpan('hub.alert.fire', {
        kind: SpanKind.INTERNAL,
        parent: cause,
        links: tracing.links(cause ? [cause] : []),
        attributes: { 'sfleet.alertname': a.labels.alertname ?? '', 'sfleet.cluster': a.labels.cluster ?? '', 'sfleet.severity': a.labels.severity ?? '', 'sfleet.fingerprint': a.fingerprint, 'sfleet.alert_source': a.source ?? 'rule' },
      });
      const tp = tracing.traceparent(span);
      span.end();
      if (tp) a.fire_trace = tp;
      else delete a.fire_trace;
    }
  }

  /** The fire spans of a notification's alerts (the first is its spans' parent). */
  causesOf(alerts: readonly Pick<Alert, 'fire_trace'>[]): string[] {
    const out: string[] = [];
    for (const a of alerts) {
      const tp = a.fire_trace;
      if (tp && !out.includes(tp)) out.push(tp);
    }
    return out;
  }

  /** Forgets alerts the tracker no longer holds. */
  prune(alive: ReadonlyMap<string, unknown>): void {
    for (const fp of this.causes.keys()) if (!alive.has(fp)) this.causes.delete(fp);
  }
}
