// From "what holds now" to alerts: pending until the condition has held `for:`, then firing;
// firing until the condition has been gone keep_firing_for (flapping damped), then resolved.
// Pure over (previous alerts, this evaluation, now): the alerting loop persists the result.
import type { AlertingConfig } from '../config.js';
import { fingerprint, type Alert } from '../model.js';
import { BUILTIN_RULES, type BuiltinRule, type Candidate, type RuleContext, type RuleTuning } from './builtin.js';
import { clusterFigures, compile, partitionFigures } from './custom.js';

export interface Rule {
  name: string;
  for: number;
  severity: string;
  labels: Record<string, string>;
  run(ctx: RuleContext): Candidate[];
}

/** The enabled built-in rules with their tuning, then the custom ones. */
export function buildRules(config: AlertingConfig): Rule[] {
  const rules: Rule[] = [];
  for (const [name, rule] of Object.entries(BUILTIN_RULES) as [string, BuiltinRule][]) {
    const tuning = config.rules[name];
    if (tuning?.enabled === false) continue;
    const t: RuleTuning = {
      for: tuning?.for ?? rule.defaults.for,
      severity: tuning?.severity ?? rule.defaults.severity,
      threshold: tuning?.threshold ?? rule.defaults.threshold,
      window: tuning?.window ?? rule.defaults.window,
    };
    rules.push({ name, for: t.for, severity: t.severity, labels: tuning?.labels ?? {}, run: (ctx) => rule.evaluate(ctx, t) });
  }
  for (const custom of config.custom_rules) {
    const test = compile(custom.expr);
    const summary = custom.summary ?? `${custom.name}: ${custom.expr}`;
    rules.push({
      name: custom.name,
      for: custom.for,
      severity: custom.severity,
      labels: custom.labels,
      run: (ctx) =>
        custom.scope === 'cluster'
          ? ctx.clusters.filter((c) => test(clusterFigures(c, ctx.now))).map((c) => ({ labels: { cluster: c.name }, summary }))
          : ctx.clusters.flatMap((c) => c.partitions.filter((p) => test(partitionFigures(c, p, ctx.now))).map((p) => ({ labels: { cluster: c.name, partition: p.name }, summary }))),
    });
  }
  return rules;
}

/** One alert of POST /api/v2/alerts, times parsed to epoch ms. */
export interface IntakeAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt?: number;
  endsAt?: number;
  generatorURL?: string;
}

export interface Transitions {
  fired: Alert[];
  resolved: Alert[];
}

/** How long a resolved alert stays listed. */
const RESOLVED_KEPT_MS = 3_600_000;

export class AlertTracker {
  readonly alerts = new Map<string, Alert>();

  constructor(restored: readonly Alert[], private readonly keepFiringFor: number) {
    for (const a of restored) this.alerts.set(a.fingerprint, a);
  }

  /** One evaluation of every rule at `now`; returns what started firing and what resolved. */
  update(rules: readonly Rule[], ctx: RuleContext): Transitions {
    const now = ctx.now;
    const iso = new Date(now).toISOString();
    const seen = new Set<string>();
    const out: Transitions = { fired: [], resolved: [] };
    for (const rule of rules) {
      let candidates: Candidate[];
      try {
        candidates = rule.run(ctx);
      } catch {
        continue; // one broken rule must not stop the others
      }
      for (const c of candidates) {
        const labels = { alertname: rule.name, severity: rule.severity, ...rule.labels, ...c.labels };
        const fp = fingerprint(labels);
        seen.add(fp);
        let alert = this.alerts.get(fp);
        if (!alert || alert.state === 'resolved') {
          alert = { fingerprint: fp, labels, annotations: { summary: c.summary }, state: 'pending', active_since: iso, last_seen: iso };
          this.alerts.set(fp, alert);
        }
        alert.last_seen = iso;
        alert.annotations.summary = c.summary;
        if (alert.state === 'pending' && now - Date.parse(alert.active_since) >= rule.for) {
          alert.state = 'firing';
          alert.starts_at = iso;
          out.fired.push(alert);
        }
      }
    }
    for (const alert of this.alerts.values()) {
      if (seen.has(alert.fingerprint)) continue;
      if (alert.source === 'intake') {
        if (alert.state === 'firing' && alert.expires_at && Date.parse(alert.expires_at) <= now) {
          alert.state = 'resolved';
          alert.ends_at = alert.expires_at;
          out.resolved.push(alert);
        } else if (alert.state === 'resolved' && alert.ends_at && now - Date.parse(alert.ends_at) > RESOLVED_KEPT_MS) this.alerts.delete(alert.fingerprint);
        continue;
      }
      if (alert.state === 'pending') this.alerts.delete(alert.fingerprint);
      else if (alert.state === 'firing' && now - Date.parse(alert.last_seen) >= this.keepFiringFor) {
        alert.state = 'resolved';
        alert.ends_at = iso;
        out.resolved.push(alert);
      } else if (alert.state === 'resolved' && alert.ends_at && now - Date.parse(alert.ends_at) > RESOLVED_KEPT_MS) this.alerts.delete(alert.fingerprint);
    }
    return out;
  }

  /**
   * An alert posted to the intake, as Alertmanager takes it: firing from startsAt until endsAt
   * (or, without endsAt, until resolveTimeout after this post unless posted again); an endsAt
   * already past resolves it. Rules never produce these labels' alertname on their own.
   */
  upsertIntake(input: IntakeAlert, now: number, resolveTimeout: number): Transitions {
    const fp = fingerprint(input.labels);
    const iso = new Date(now).toISOString();
    const out: Transitions = { fired: [], resolved: [] };
    const ends = input.endsAt !== undefined ? input.endsAt : now + resolveTimeout;
    let alert = this.alerts.get(fp);
    if (ends <= now) {
      if (alert && alert.state === 'firing') {
        alert.state = 'resolved';
        alert.ends_at = new Date(Math.max(ends, Date.parse(alert.starts_at ?? iso))).toISOString();
        out.resolved.push(alert);
      }
      return out;
    }
    const annotations = { ...input.annotations, summary: input.annotations.summary ?? input.annotations.description ?? input.labels.alertname ?? 'alert' };
    if (!alert || alert.state !== 'firing') {
      const starts = new Date(Math.min(input.startsAt ?? now, now)).toISOString();
      alert = { fingerprint: fp, labels: { ...input.labels }, annotations, state: 'firing', active_since: starts, starts_at: starts, last_seen: iso, source: 'intake' };
      this.alerts.set(fp, alert);
      out.fired.push(alert);
    }
    alert.annotations = annotations;
    alert.last_seen = iso;
    alert.expires_at = new Date(ends).toISOString();
    if (input.generatorURL) alert.generator_url = input.generatorURL;
    return out;
  }

  /** Resolved by a person: it fires again only after its condition is seen anew for `for:`. */
  resolveByHand(fp: string, by: string, now: number): Alert | undefined {
    const alert = this.alerts.get(fp);
    if (!alert || alert.state === 'resolved') return undefined;
    alert.state = 'resolved';
    alert.ends_at = new Date(now).toISOString();
    alert.resolved_by = by;
    return alert;
  }
}
