import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parsePagerDutyEvent } from './event.js';
import { signPagerDuty, verifyPagerDuty } from './signature.js';

const body = Buffer.from(JSON.stringify({ event: { id: '01ABC', event_type: 'incident.acknowledged', agent: { summary: 'Ana Operator', type: 'user_reference' }, data: { id: 'PGR0VU2', type: 'incident', number: 2, incident_key: 'sfleet-eu-1', status: 'acknowledged' } } }));
// The docs' form, computed independently of signPagerDuty: v1=<hex HMAC-SHA256 of the raw body>.
const v1 = (secret: string, raw: Buffer = body) => `v1=${createHmac('sha256', secret).update(raw).digest('hex')}`;

describe('PagerDuty v3 webhook signatures', () => {
  it('accepts the documented v1 signature of the raw body', () => {
    expect(signPagerDuty(body, ['new-secret'])).toBe(v1('new-secret'));
    expect(verifyPagerDuty(body, v1('new-secret'), ['new-secret'])).toBe(true);
  });

  it('during a rotation: several comma-separated signatures, any one matching a configured secret', () => {
    const header = `${v1('old-secret')},${v1('new-secret')}`;
    expect(verifyPagerDuty(body, header, ['new-secret'])).toBe(true);
    expect(verifyPagerDuty(body, header, ['old-secret'])).toBe(true);
    expect(verifyPagerDuty(body, `${v1('old-secret')}, ${v1('new-secret')}`, ['new-secret'])).toBe(true);
    // Several pagerduty channels, each with its own secret: any of them.
    expect(verifyPagerDuty(body, v1('second'), ['first', 'second'])).toBe(true);
  });

  it('refuses a wrong secret, a missing or empty header, other versions and no secret configured', () => {
    expect(verifyPagerDuty(body, v1('wrong'), ['new-secret'])).toBe(false);
    expect(verifyPagerDuty(body, undefined, ['new-secret'])).toBe(false);
    expect(verifyPagerDuty(body, '', ['new-secret'])).toBe(false);
    expect(verifyPagerDuty(body, v1('new-secret').replace('v1=', 'v2='), ['new-secret'])).toBe(false);
    expect(verifyPagerDuty(body, 'v1=abc', ['new-secret'])).toBe(false);
    expect(verifyPagerDuty(body, v1('new-secret'), [])).toBe(false);
  });

  it('refuses a tampered body: one byte changed, or the same JSON re-serialized', () => {
    const header = v1('new-secret');
    const tampered = Buffer.from(body.toString('utf8').replace('incident.acknowledged', 'incident.resolved'));
    expect(verifyPagerDuty(tampered, header, ['new-secret'])).toBe(false);
    const reformatted = Buffer.from(JSON.stringify(JSON.parse(body.toString('utf8')), null, 1));
    expect(verifyPagerDuty(reformatted, header, ['new-secret'])).toBe(false);
  });
});

describe('PagerDuty v3 webhook payload', () => {
  it('reads the event id, type, the incident key (the group dedup_key) and who acted', () => {
    expect(parsePagerDutyEvent(body)).toEqual({ id: '01ABC', type: 'incident.acknowledged', incident_key: 'sfleet-eu-1', agent: 'Ana Operator', incident: 'PGR0VU2 #2' });
  });

  it('malformed bodies are a 400 naming what is wrong', () => {
    expect(() => parsePagerDutyEvent(Buffer.from('{not json'))).toThrow(/not JSON/);
    expect(() => parsePagerDutyEvent(Buffer.from('{"messages":[]}'))).toThrow(/no "event" object/);
    expect(() => parsePagerDutyEvent(Buffer.from('{"event":{"id":"x"}}'))).toThrow(/"id" and "event_type"/);
    for (const f of [() => parsePagerDutyEvent(Buffer.from('null'))]) expect(f).toThrow(/no "event" object/);
  });

  it('a non-incident event has no incident key', () => {
    expect(parsePagerDutyEvent(Buffer.from(JSON.stringify({ event: { id: 'e2', event_type: 'service.updated', agent: null, data: { id: 'PF9', type: 'service' } } })))).toEqual({ id: 'e2', type: 'service.updated', agent: 'unknown' });
  });
});
