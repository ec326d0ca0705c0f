// Who a step of an escalation policy notifies, decided when the step fires: its channels as
// configured, its users through their contact methods, and for each schedule the user on call
// at that instant (a hand-off between two steps pages the new person). A recipient is a
// channel, with an address for e-mail contacts; one recipient is notified once per step even
// when a user is named directly and is also on call.
import { resolveChannel, type AlertingConfig, type StepConfig } from '../config.js';
import { scheduleFromConfig, type Schedule } from '../oncall/index.js';

export interface Recipient {
  channel: string;
  /** An e-mail contact's address (the channel's endpoint otherwise). */
  to?: string;
  /** The user this is for, when a user or schedule named them. */
  user?: string;
}

/** channel, or channel:address (channel names hold no ':'). */
export function recipientKey(r: Recipient): string {
  return r.to ? `${r.channel}:${r.to}` : r.channel;
}

export function parseRecipientKey(key: string): Recipient {
  const i = key.indexOf(':');
  return i < 0 ? { channel: key } : { channel: key.slice(0, i), to: key.slice(i + 1) };
}

export class Recipients {
  readonly schedules: ReadonlyMap<string, Schedule>;

  constructor(private readonly config: AlertingConfig) {
    this.schedules = new Map(Object.entries(config.schedules).map(([name, s]) => [name, scheduleFromConfig(name, s)]));
  }

  /** Who is on call for a schedule at `now`. */
  onCall(schedule: string, now: number): string | undefined {
    return this.schedules.get(schedule)?.onCall(now);
  }

  ofChannels(refs: readonly string[]): Recipient[] {
    return dedupe(refs.map((r) => ({ channel: resolveChannel(this.config, r) })));
  }

  ofStep(step: StepConfig, now: number): Recipient[] {
    const users = [...step.users];
    for (const s of step.schedules) {
      const who = this.onCall(s, now);
      if (who) users.push(who);
    }
    return dedupe([...this.ofChannels(step.channels), ...users.flatMap((u) => this.ofUser(u))]);
  }

  ofUser(user: string): Recipient[] {
    return (this.config.users[user]?.contacts ?? []).map((c) => ({ channel: resolveChannel(this.config, c.channel), ...(c.address ? { to: c.address } : {}), user }));
  }
}

function dedupe(list: Recipient[]): Recipient[] {
  const seen = new Map<string, Recipient>();
  for (const r of list) if (!seen.has(recipientKey(r))) seen.set(recipientKey(r), r);
  return [...seen.values()];
}
