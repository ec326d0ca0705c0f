// The acceptor's refusals, with tokens made here under a known service key (the real KDC and
// real clients are in test/kerberos-login.test.ts).
import { describe, expect, it } from 'vitest';
import { NegotiateAcceptor, ReplayCache } from './acceptor.js';
import { KEYTAB, T0, token } from './token-fixture.js';

function acceptor(now = T0) {
  return new NegotiateAcceptor({ keytab: KEYTAB, clockSkewMs: 300_000, now: () => now });
}

describe('NegotiateAcceptor', () => {
  it('accepts a good token once: the same authenticator again is a replay', async () => {
    const a = acceptor();
    const t = token();
    expect(await a.accept(t)).toEqual({ name: 'alice', realm: 'EX.ORG' });
    await expect(a.accept(t)).rejects.toThrow(/replayed/);
  });

  it('answers a mutual-authentication request with an AP-REP in a SPNEGO accept-completed', async () => {
    const reply = (await acceptor().accept(token({ mutual: true }))).reply!;
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
  ])('refuses %s', async (_what, make, why) => {
    await expect(acceptor().accept(make())).rejects.toThrow(why);
  });

  it('refuses a token with a flipped bit (integrity) without crashing', async () => {
    const raw = Buffer.from(token().slice('Negotiate '.length), 'base64');
    raw[raw.length - 20]! ^= 0x40;
    await expect(acceptor().accept(`Negotiate ${raw.toString('base64')}`)).rejects.toThrow(/integrity|expected|truncated/);
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
