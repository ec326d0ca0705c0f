// What the API shows of alerts (with their groups' escalation) and of on-call schedules.
import type { AlertingConfig } from './config.js';
import type { GroupState, Recipients } from './dispatch/index.js';
import type { Alert } from './model.js';

export interface AlertGroupView {
  group_key: string;
  dedup_key: string;
  policy: string | null;
  step: number;
  next_at: string | null;
  acked_by: string | null;
  acked_at: string | null;
  channels_notified: string[];
}

export interface AlertView extends Alert {
  silenced_by: string | null;
  inhibited_by: string | null;
  groups: AlertGroupView[];
}

/** A schedule as GET /api/v1/schedules shows it: who is on call now, and the next hand-offs (names only, no contacts). */
export interface ScheduleView {
  name: string;
  time_zone: string;
  handoff: { day: string; time: string };
  users: string[];
  on_call: string;
  /** An override puts on_call there until this time. */
  override_until: string | null;
  next_handoffs: { at: string; from: string; to: string }[];
}

const iso = (ms: number | undefined): string | null => (ms !== undefined ? new Date(ms).toISOString() : null);

export function alertView(alert: Alert, groups: Iterable<GroupState>, marks: { silenced_by: string | null; inhibited_by: string | null }): AlertView {
  // The fire span's traceparent is bookkeeping for notify spans, not part of the alert as shown.
  const { fire_trace: _trace, ...a } = alert;
  const mine = [...groups].filter((g) => g.alerts.includes(a.fingerprint) || (g.notified_alerts ?? []).includes(a.fingerprint));
  return {
    ...a,
    ...marks,
    groups: mine.map((g) => ({ group_key: g.key, dedup_key: g.dedup_key, policy: g.policy ?? null, step: g.step, next_at: iso(g.next_at), acked_by: g.acked_by ?? null, acked_at: iso(g.acked_at), channels_notified: g.channels_notified })),
  };
}

/** Every schedule at `now`; the hand-offs are the rotation's (overrides are shown as override_until). */
export function scheduleViews(config: AlertingConfig, recipients: Recipients, now: number): ScheduleView[] {
  return [...recipients.schedules].map(([name, s]) => {
    const c = config.schedules[name];
    const override = s.rotation.overrides.find((o) => o.start <= now && now < o.end);
    return {
      name,
      time_zone: c.time_zone,
      handoff: c.handoff,
      users: c.users,
      on_call: s.onCall(now),
      override_until: override ? new Date(override.end).toISOString() : null,
      next_handoffs: s.nextHandoffs(now, 4).map((h) => ({ at: new Date(h.at).toISOString(), from: h.from, to: h.to })),
    };
  });
}
