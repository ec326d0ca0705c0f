// The acceptor's refusals, with tokens made here under a known service key (the real KDC and
// real clients are in test/kerberos-login.test.ts).
import { describe, expect, it } from 'vitest';
import { encrypt } from '../../../shared/kerberos/aes-cts.js';
import { app, bitString, ctx, encode, generalString, int, kerberosTime, objectId, octetString, seq } from '../../../shared/kerberos/der.js';
import { NegotiateAcceptor, ReplayCache } from './acceptor.js';

const SERVICE_KEY = Buffer.alloc(32, 1);
const SESSION_KEY = Buffer.alloc(32, 2);
const T0 = Date.UTC(2026, 11, 7, 12, 0, 0);
const name = (parts: string[]) => seq(ctx(0, int(1)), ctx(1, seq(...parts.map(generalString))));

function token(o: { now?: number; endtime?: number; client?: string; authClient?: string; service?: string; kvno?: number; mutual?: boolean; etype?: number } = {}): string {
  const now = o.now ?? T0;
  const encTicket = app(3, seq(ctx(0, bitString(Buffer.alloc(4))), ctx(1, seq(ctx(0, int(18)), ctx(1, octetString(SESSION_KEY)))), ctx(2, generalString('EX.ORG')), ctx(3, name([o.client ?? 'alice'])), ctx(4, seq(ctx(0, int(1)), ctx(1, octetString(Buffer.alloc(0))))), ctx(5, kerberosTime(T0 - 60_000)), ctx(7, kerberosTime(o.endtime ?? T0 + 3_600_000))));
  const ticket = app(1, seq(ctx(0, int(5)), ctx(1, generalString('EX.ORG')), ctx(2, name((o.service ?? 'HTTP/hub').split('/'))), ctx(3, seq(ctx(0, int(o.etype ?? 18)), ctx(1, int(o.kvno ?? 3)), ctx(2, octetString(encrypt(SERVICE_KEY, 2, encTicket)))))));
  const auth = app(2, seq(ctx(0, int(5)), ctx(1, generalString('EX.ORG')), ctx(2, name([o.authClient ?? o.client ?? 'alice'])), ctx(4, int(123)), ctx(5, kerberosTime(now))));
  const opts = Buffer.from([o.mutual ? 0x20 : 0, 0, 0, 0]); // ap-options bit 2: mutual-required
  const apReq = app(14, seq(ctx(0, int(5)), ctx(1, int(14)), ctx(2, bitString(opts)), ctx(3, ticket), ctx(4, seq(ctx(0, int(18)), ctx(2, octetString(encrypt(SESSION_KEY, 11, auth)))))));
  const krb = app(0, Buffer.concat([objectId('1.2.840.113554.1.2.2'), Buffer.from([1, 0]), apReq]));
  const spnego = app(0, Buffer.concat([objectId('1.3.6.1.5.5.2'), encode(2, true, 0, seq(ctx(0, seq(objectId('1.2.840.113554.1.2.2'))), ctx(2, octetString(krb))))]));
  return `Negotiate ${spnego.toString('base64')}`;
}

function acceptor(now = T0) {
  return new NegotiateAcceptor({ keytab: [{ principal: 'HTTP/hub', realm: 'EX.ORG', kvno: 3, etype: 18, key: SERVICE_KEY }], clockSkewMs: 300_000, now: () => now });
}

describe('NegotiateAcceptor', () => {
  it('accepts a good token once: the same authenticator again is a replay', () => {
    const a = acceptor();
    const t = token();
    expect(a.accept(t)).toEqual({ name: 'alice', realm: 'EX.ORG' });
    expect(() => a.accept(t)).toThrow(/replayed/);
  });

  it('answers a mutual-authentication request with an AP-REP in a SPNEGO accept-completed', () => {
    const reply = acceptor().accept(token({ mutual: true })).reply!;
    const der = Buffer.from(reply.replace(/^Negotiate /, ''), 'base64');
    expect(der[0]).toBe(0xa1); // negTokenResp
    expect(der.includes(Buffer.from([0x0a, 0x01, 0x00]))).toBe(true); // negState accept-completed
  });

  it.each([
    ['a client clock 6 minutes off', () => token({ now: T0 - 360_000 }), /clock skew/],
    ['an expired ticket', () => token({ endtime: T0 - 400_000 }), /ticket expired/],
    ['an authenticator for another client', () => token({ authClient: 'mallory' }), /different clients/],
    ['a ticket for a service the keytab lacks', () => token({ service: 'HTTP/other' }), /no key in the keytab for HTTP\/other@EX.ORG/],
    ['an old key version', () => token({ kvno: 2 }), /no key version 2/],
    ['RC4 (enctype 23)', () => token({ etype: 23 }), /encryption type 23 is not supported/],
    ['garbage', () => 'Negotiate ' + Buffer.from('not a token').toString('base64'), /not a GSS-API initial context token|truncated/],
    ['a bearer token', () => 'Bearer abc', /expected Authorization: Negotiate/],
  ])('refuses %s', (_what, make, why) => {
    expect(() => acceptor().accept(make())).toThrow(why);
  });

  it('refuses a token with a flipped bit (integrity) without crashing', () => {
    const raw = Buffer.from(token().slice('Negotiate '.length), 'base64');
    raw[raw.length - 20]! ^= 0x40;
    expect(() => acceptor().accept(`Negotiate ${raw.toString('base64')}`)).toThrow(/integrity|expected|truncated/);
  });

  it('a full replay cache refuses new authenticators instead of forgetting one that could then be replayed', () => {
    const cache = new ReplayCache(2);
    expect(cache.add('a', T0 + 1000, T0)).toBe('added');
    expect(cache.add('b', T0 + 1000, T0)).toBe('added');
    expect(cache.add('c', T0 + 1000, T0)).toBe('full');
    expect(cache.add('a', T0 + 1000, T0)).toBe('replayed');
    // Once entries leave the skew window they make room.
    expect(cache.add('c', T0 + 3000, T0 + 2000)).toBe('added');
  });

});
