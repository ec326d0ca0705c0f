import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../../shared/clock/index.js';
import { createLogger } from '../../../shared/logging/index.js';
import { EventLog } from '../../events/index.js';
import { Alerting } from '../alerting.js';
import { alertingConfigSchema } from '../config.js';
import { config, Fleet, Recorder } from '../fleet-fixture.js';
import { ContactCache } from './contact-cache.js';

/** A directory in memory: entries by user (attribute -> value), and a switch to take it down. */
class Directory {
  entries = new Map<string, Record<string, string>>();
  down = false;
  reads: string[] = [];
  lookup = async (user: string, attrs: readonly string[]) => {
    this.reads.push(user);
    if (this.down) throw new Error('the LDAP directory ldap://127.0.0.1:1 cannot be used now: connect ECONNREFUSED');
    const e = this.entries.get(user);
    return e ? Object.fromEntries(attrs.filter((a) => e[a] !== undefined).map((a) => [a, e[a]])) : undefined;
  };
}

const lines: { level: string; msg: string }[] = [];
const logger = {
  ...createLogger({ name: 'test', level: 'silent' }),
  warn: (_o: unknown, msg: string) => lines.push({ level: 'warn', msg }),
  info: (_o: unknown, msg: string) => lines.push({ level: 'info', msg }),
} as unknown as ReturnType<typeof createLogger>;
const settle = () => vi.advanceTimersByTimeAsync(0);

describe('directory contact cache', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    lines.length = 0;
  });
  afterEach(() => vi.useRealTimers());

  it('reads the named users at start and again each refresh; a user not cached yet is read at once', async () => {
    const dir = new Directory();
    dir.entries.set('ana', { mail: 'ana@x.test', mobile: '+4915100000001' });
    const cache = new ContactCache({ refresh: 300_000, mail_attribute: 'mail', mobile_attribute: 'mobile' }, dir.lookup, logger);
    cache.start(['ana']);
    await settle();
    expect(cache.get('ana')).toEqual({ state: 'known', found: true, mail: 'ana@x.test', mobile: '+4915100000001' });
    expect(cache.get('ben')).toEqual({ state: 'unknown', reason: 'not read from the directory yet' }); // starts a read
    await settle();
    expect(cache.get('ben')).toEqual({ state: 'known', found: false });
    dir.entries.set('ana', { mail: 'ana.new@x.test' });
    dir.reads.length = 0;
    await vi.advanceTimersByTimeAsync(299_000);
    expect(cache.get('ana')).toMatchObject({ mail: 'ana@x.test' }); // not yet refreshed
    await vi.advanceTimersByTimeAsync(1_000);
    expect(dir.reads.sort()).toEqual(['ana', 'ben']);
    expect(cache.get('ana')).toEqual({ state: 'known', found: true, mail: 'ana.new@x.test' });
    cache.stop();
  });

  it('keeps the last known contacts while the directory is down, counts each failed read and logs the outage once', async () => {
    const dir = new Directory();
    dir.entries.set('ana', { mail: 'ana@x.test' });
    const cache = new ContactCache({ refresh: 60_000, mail_attribute: 'mail', mobile_attribute: 'mobile' }, dir.lookup, logger);
    cache.start(['ana']);
    await settle();
    dir.down = true;
    await vi.advanceTimersByTimeAsync(3 * 60_000);
    expect(cache.failures).toBe(3);
    expect(cache.get('ana')).toEqual({ state: 'known', found: true, mail: 'ana@x.test' });
    expect(cache.get('cem')).toMatchObject({ state: 'unknown' });
    await settle();
    expect(cache.get('cem')).toEqual({ state: 'unknown', reason: 'the LDAP directory ldap://127.0.0.1:1 cannot be used now: connect ECONNREFUSED' });
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    dir.down = false;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(lines.map((l) => l.level)).toEqual(['warn', 'info']);
    expect(cache.get('cem')).toEqual({ state: 'known', found: false });
    cache.stop();
  });

  it('a user whose read failed is not read again on every evaluation: after 30 s, and at each refresh', async () => {
    const dir = new Directory();
    dir.down = true;
    const cache = new ContactCache({ refresh: 300_000, mail_attribute: 'mail', mobile_attribute: 'mobile' }, dir.lookup, logger);
    cache.start([]);
    cache.get('dan');
    await settle();
    // Evaluations every second for 29 s ask for dan: no new read, and nothing for ready() to wait on.
    for (let i = 0; i < 29; i++) {
      expect(cache.get('dan')).toMatchObject({ state: 'unknown' });
      await vi.advanceTimersByTimeAsync(1_000);
    }
    expect(dir.reads).toEqual(['dan']);
    await vi.advanceTimersByTimeAsync(1_000);
    dir.down = false;
    dir.entries.set('dan', { mail: 'dan@x.test' });
    cache.get('dan');
    await settle();
    expect(dir.reads).toEqual(['dan', 'dan']);
    expect(cache.get('dan')).toEqual({ state: 'known', found: true, mail: 'dan@x.test' });
    cache.stop();
  });

  it('reads the configured attribute names', async () => {
    const dir = new Directory();
    dir.entries.set('ana', { mail: 'wrong@x.test', rfc822Mailbox: 'ana@x.test', telephoneNumber: '+4930000000' });
    const cache = new ContactCache({ refresh: 60_000, mail_attribute: 'rfc822Mailbox', mobile_attribute: 'telephoneNumber' }, dir.lookup, logger);
    cache.start(['ana']);
    await settle();
    expect(cache.get('ana')).toEqual({ state: 'known', found: true, mail: 'ana@x.test', mobile: '+4930000000' });
    cache.stop();
  });
});

describe('paging a directory user (alerting.directory_contacts)', () => {
  const CHANNELS = [{ type: 'email', endpoint: 'oncall@example.com' }, { type: 'sms', url: 'http://127.0.0.1:9/sms', to: ['+4915112345678'] }, { type: 'pagerduty', integration_key: 'k' }];
  function setup(dir: Directory, directoryContacts: Record<string, unknown> = {}) {
    const clock = new ManualClock(Date.parse('2026-03-18T12:00:00Z'));
    const fleet = new Fleet(clock);
    const rec = new Recorder();
    const events = new EventLog({}, { logger, clock: () => clock.now() });
    const cfg = config({
      channels: CHANNELS,
      directory_contacts: directoryContacts,
      schedules: { hpc: { users: ['ana', 'bob'], handoff: { day: 'monday', time: '09:00' }, time_zone: 'Europe/Berlin', start: '2026-03-16' } },
      policies: { critical: { steps: [{ channels: ['pagerduty'], schedules: ['hpc'], wait: '5m' }, { users: ['bob'], wait: '5m' }], repeat: 1 } },
      rules: { node_down: { severity: 'critical', for: '0s' }, partition_nodes_unavailable: { enabled: false } },
    });
    const alerting = new Alerting(cfg, { state: fleet.state, logger, clock, region: 'eu', events, notifiers: rec.factory, sleep: async () => undefined });
    alerting.readContactsFrom(dir.lookup);
    const step = async (ms: number) => {
      clock.advance(ms);
      await alerting.tick();
      await alerting.idle();
    };
    return { fleet, rec, alerting, step };
  }

  it('pages the on-call user at the mail and mobile of their entry; a user without mail is a rejected delivery naming the attribute', async () => {
    const dir = new Directory();
    dir.entries.set('ana', { mail: 'ana@x.test', mobile: '+4915100000001' });
    dir.entries.set('bob', { mobile: '+49 151 0000-0002' });
    const { fleet, rec, alerting, step } = setup(dir);
    fleet.down('n2');
    await step(0);
    await step(10_000); // group_wait
    expect(rec.sent.map((s) => [s.channel, s.n.to ?? '', s.n.recipient ?? ''])).toEqual([
      ['pagerduty', '', ''],
      ['email', 'ana@x.test', 'ana'],
      ['sms', '+4915100000001', 'ana'],
    ]);
    rec.clear();
    await step(5 * 60_000); // step 2: bob, who has no mail
    expect(rec.sent.map((s) => [s.channel, s.n.to, s.n.recipient])).toEqual([['sms', '+4915100000002', 'bob']]);
    const rejected = alerting.listDeliveries({ outcome: 'rejected' });
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({ channel: 'email', type: 'email', recipient: 'bob', outcome: 'rejected', reason: 'user "bob" has no mail in the directory' });
    expect([...alerting.deliveryStats.notifications.entries.values()].find((e) => e.labels.channel === 'email' && e.labels.outcome === 'rejected')?.value.n).toBe(1);
    // The acknowledgement goes to everyone reached, never to the channel's own endpoint for bob.
    rec.clear();
    alerting.ack(alerting.list({ state: 'firing' })[0].fingerprint, 'ana');
    await alerting.idle();
    expect(rec.sent.map((s) => [s.channel, s.n.to ?? '']).sort()).toEqual([['email', 'ana@x.test'], ['pagerduty', ''], ['sms', '+4915100000001'], ['sms', '+4915100000002']]);
    await alerting.close();
  });

  it('a mail or mobile that is no address is a rejected delivery that does not show the value', async () => {
    const dir = new Directory();
    dir.entries.set('ana', { mail: 'Ana Admin', mobile: 'ask the front desk' });
    const { fleet, rec, alerting, step } = setup(dir);
    fleet.down('n2');
    await step(0);
    await step(10_000);
    expect(rec.sent.map((s) => s.channel)).toEqual(['pagerduty']);
    const reasons = alerting.listDeliveries({ outcome: 'rejected' }).map((r) => r.reason);
    expect(reasons).toEqual(['user "ana" has a mail in the directory that is not an e-mail address', 'user "ana" has a mobile in the directory that is not an E.164 number']);
    await alerting.close();
  });

  it('a user the directory does not have, and a directory that was never reachable: rejected deliveries that say so', async () => {
    const dir = new Directory();
    dir.entries.set('ana', { mail: 'ana@x.test', mobile: '+4915100000001' });
    const { fleet, alerting, step } = setup(dir);
    fleet.down('n2');
    await step(0);
    await step(10_000);
    await step(5 * 60_000);
    expect(alerting.listDeliveries({ outcome: 'rejected' }).map((r) => [r.channel, r.reason]).sort()).toEqual([
      ['email', 'user "bob" is not in the directory'],
      ['sms', 'user "bob" is not in the directory'],
    ]);
    await alerting.close();

    const down = new Directory();
    down.down = true;
    const second = setup(down);
    second.fleet.down('n2');
    await second.step(0);
    await second.step(10_000);
    expect(second.rec.sent.map((s) => s.channel)).toEqual(['pagerduty']);
    expect(second.alerting.listDeliveries({ outcome: 'rejected' }).map((r) => r.reason)).toEqual([
      'no contacts known for user "ana": the LDAP directory ldap://127.0.0.1:1 cannot be used now: connect ECONNREFUSED',
      'no contacts known for user "ana": the LDAP directory ldap://127.0.0.1:1 cannot be used now: connect ECONNREFUSED',
    ]);
    expect(second.alerting.directoryFailures).toBeGreaterThanOrEqual(1);
    await second.alerting.close();
  });

  it('config: directory users are accepted in schedules and steps only with directory_contacts, which needs an email or sms channel', () => {
    const base = { channels: [{ type: 'pagerduty', integration_key: 'k' }], policies: { critical: { steps: [{ users: ['zoe'], wait: '5m' }] } } };
    expect(alertingConfigSchema.safeParse(base).error?.issues.map((i) => i.message)).toEqual(['unknown user "zoe"; known: none']);
    expect(alertingConfigSchema.safeParse({ ...base, directory_contacts: {} }).error?.issues.map((i) => i.message)).toEqual(['directory contacts need an email or sms channel to carry them']);
    const ok = alertingConfigSchema.parse({ ...base, channels: [...base.channels, { type: 'email', endpoint: 'a@x.test' }], directory_contacts: {} });
    expect(ok.directory_contacts).toEqual({ refresh: 300_000, mail_attribute: 'mail', mobile_attribute: 'mobile' });
    expect(alertingConfigSchema.safeParse({ ...base, directory_contacts: { mail_attribute: 'mail)(uid=*' } }).success).toBe(false);
  });
});
