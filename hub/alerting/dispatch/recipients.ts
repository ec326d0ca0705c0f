// Who a step of an escalation policy notifies, decided when the step fires: its channels as
// configured, its users through their contact methods, and for each schedule the user on call
// at that instant (a hand-off between two steps pages the new person). A recipient is a
// channel, with an address for e-mail contacts; one recipient is notified once per step even
// when a user is named directly and is also on call. A user that alerting.users does not hold
// is a directory user (directory_contacts): their cached mail and mobile, or a skip that says
// which attribute is missing (recorded as a rejected delivery, never a silent drop).
import type { ContactCache } from '../contacts/index.js';
import { E164, resolveChannel, type AlertingConfig, type StepConfig } from '../config.js';
import { scheduleFromConfig, type Schedule } from '../oncall/index.js';

export interface Recipient {
  channel: string;
  /** An e-mail contact's address (the channel's endpoint otherwise). */
  to?: string;
  /** The user this is for, when a user or schedule named them. */
  user?: string;
  /** Not sent: why (a directory user without the address this channel needs). */
  skip?: string;
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
  /** alerting.directory_contacts: set by the engine once the directory is known. */
  contacts?: ContactCache;

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
    const configured = this.config.users[user];
    if (configured || !this.config.directory_contacts) return (configured?.contacts ?? []).map((c) => ({ channel: resolveChannel(this.config, c.channel), ...(c.address ? { to: c.address } : {}), user }));
    return this.ofDirectoryUser(user, this.config.directory_contacts);
  }

  /** The first email channel gets the mail attribute, the first sms channel the mobile one. */
  private ofDirectoryUser(user: string, dc: NonNullable<AlertingConfig['directory_contacts']>): Recipient[] {
    const cached = this.contacts?.get(user) ?? { state: 'unknown' as const, reason: 'the directory is not configured (sso.ldap)' };
    const out: Recipient[] = [];
    for (const [type, attr, key] of [['email', dc.mail_attribute, 'mail'], ['sms', dc.mobile_attribute, 'mobile']] as const) {
      const channel = this.config.channels.find((c) => c.type === type);
      if (!channel) continue;
      const name = channel.name ?? channel.type;
      if (cached.state === 'unknown') out.push({ channel: name, user, skip: `no contacts known for user "${user}": ${cached.reason}` });
      else if (!cached.found) out.push({ channel: name, user, skip: `user "${user}" is not in the directory` });
      else if (!cached[key]) out.push({ channel: name, user, skip: `user "${user}" has no ${attr} in the directory` });
      else {
        // Directories write numbers for people ("+49 151 123-4567"): the gateway gets E.164. The reason never shows the value.
        const to = key === 'mobile' ? cached[key].replace(/[\s()./-]/g, '') : cached[key];
        const ok = key === 'mobile' ? E164.test(to) : /^[^\s@]+@[^\s@]+$/.test(to);
        out.push(ok ? { channel: name, to, user } : { channel: name, user, skip: `user "${user}" has a ${attr} in the directory that is not ${key === 'mobile' ? 'an E.164 number' : 'an e-mail address'}` });
      }
    }
    return out;
  }
}

function dedupe(list: Recipient[]): Recipient[] {
  const seen = new Map<string, Recipient>();
  for (const r of list) {
    const key = r.skip ? `${r.channel}!${r.user ?? ''}` : recipientKey(r);
    if (!seen.has(key)) seen.set(key, r);
  }
  return [...seen.values()];
}
