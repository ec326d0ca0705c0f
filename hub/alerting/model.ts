// An alert as every part of alerting sees it: labels (alertname, cluster, severity, node...) that
// identify it through a stable fingerprint, and annotations that only describe it.
import { createHash } from 'node:crypto';

export type AlertState = 'pending' | 'firing' | 'resolved';

export interface Alert {
  fingerprint: string;
  labels: Record<string, string>;
  annotations: { summary: string; [name: string]: string };
  state: AlertState;
  /** When the condition was first seen (pending since). */
  active_since: string;
  /** When it started firing. */
  starts_at?: string;
  /** When it resolved. */
  ends_at?: string;
  /** The last evaluation that saw the condition. */
  last_seen: string;
  /** Posted to the Alertmanager intake (POST /api/v2/alerts) rather than raised by a rule. */
  source?: 'intake';
  /** Intake: resolves at this time unless posted again (Alertmanager's endsAt / resolve_timeout). */
  expires_at?: string;
  /** Intake: the sender's link to the rule (Prometheus' generatorURL). */
  generator_url?: string;
  /** Who resolved it by hand, if so. */
  resolved_by?: string;
  /**
   * W3C traceparent of its `hub.alert.fire` span (tracing on): kept with the alert state, so the
   * notifications of later escalation steps stay its children after a restart or a new leader.
   */
  fire_trace?: string;
}

/** sha256 of the sorted labels: the same labels give the same fingerprint on every hub, every run. */
export function fingerprint(labels: Readonly<Record<string, string>>): string {
  const h = createHash('sha256');
  for (const key of Object.keys(labels).sort()) h.update(`${key}\u0000${labels[key]}\u0001`);
  return h.digest('hex').slice(0, 16);
}

const SEVERITY_ORDER = ['info', 'warning', 'critical'];

/** The higher of two severities (unknown ones rank below info). */
export function maxSeverity(a: string, b: string): string {
  return SEVERITY_ORDER.indexOf(b) > SEVERITY_ORDER.indexOf(a) ? b : a;
}
