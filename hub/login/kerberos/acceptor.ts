// Accepts `Authorization: Negotiate <token>` (RFC 4559): a SPNEGO NegTokenInit (RFC 4178) or a
// bare Kerberos GSS token (RFC 4121) carrying an AP-REQ (RFC 4120 3.2). The ticket is opened with
// the service key from the keytab, the authenticator with the ticket's session key, then the
// times and the replay cache are checked. Replies with an AP-REP when the client asks for mutual
// authentication. Only aes128/aes256-cts-hmac-sha1-96, the default of MIT and Active Directory.
import { decrypt, encrypt, supportedEtype } from '../../../shared/kerberos/aes-cts.js';
import { app, application, children, ctx, encode, enumerated, field, fields, int, integer, kerberosTime, objectId, octets, octetString, oid, readTlv, seq, text, time, APPLICATION, CONTEXT, type Tlv } from '../../../shared/kerberos/der.js';
import { KerberosTokenError } from '../../../shared/kerberos/errors.js';
import { keyFor, type KeytabEntry } from '../../../shared/kerberos/keytab.js';

const SPNEGO = '1.3.6.1.5.5.2';
const KRB5 = '1.2.840.113554.1.2.2';
const KRB5_MS = '1.2.840.48018.1.2.2'; // what Windows clients list first
const USAGE_TICKET = 2;
const USAGE_AUTHENTICATOR = 11;
const USAGE_AP_REP = 12;

export interface AcceptedClient {
  /** The client principal's name components joined by "/" (alice, or alice/admin). */
  name: string;
  realm: string;
  /** The Negotiate reply for WWW-Authenticate, when the client asked for mutual authentication. */
  reply?: string;
}

/** Where accepted authenticators are remembered: this hub's memory (ReplayCache) or a hub group's security store. */
export interface AuthenticatorReplay {
  claim(key: string, until: number, now: number): Promise<ReplayClaim> | ReplayClaim;
}
export type ReplayClaim = 'added' | 'replayed' | 'full';

export interface AcceptorOptions {
  keytab: readonly KeytabEntry[];
  /** Default: a cache in this hub's memory. */
  replay?: AuthenticatorReplay;
  /** Accept tickets only for these service principals (without realm); all of the keytab's when empty. */
  services?: readonly string[];
  clockSkewMs: number;
  now?: () => number;
}

function principalName(tlv: Tlv): string {
  const f = fields(tlv, 'PrincipalName');
  const parts = children(field(f, 1, 'name-string')).map(text);
  if (parts.length === 0) throw new KerberosTokenError('empty principal name');
  return parts.join('/');
}

function encryptedData(tlv: Tlv): { etype: number; kvno?: number; cipher: Buffer } {
  const f = fields(tlv, 'EncryptedData');
  const kvno = f.get(1);
  return { etype: integer(field(f, 0, 'etype')), kvno: kvno ? integer(kvno) : undefined, cipher: octets(field(f, 2, 'cipher')) };
}

/** The AP-REQ inside a Negotiate token, and the mechanism to name in a reply. */
function unwrap(token: Buffer, inside = false): { apReq: Buffer; mech: string; spnego: boolean } {
  const outer = readTlv(token);
  if (outer.cls !== APPLICATION || outer.tag !== 0) throw new KerberosTokenError('not a GSS-API initial context token');
  const inner = outer.value;
  const mechTlv = readTlv(inner);
  const mech = oid(mechTlv);
  const rest = inner.subarray(mechTlv.raw.length);
  if (mech === KRB5 || mech === KRB5_MS) {
    if (rest[0] !== 0x01 || rest[1] !== 0x00) throw new KerberosTokenError('Kerberos token is not an AP-REQ');
    return { apReq: rest.subarray(2), mech, spnego: false };
  }
  if (mech !== SPNEGO || inside) throw new KerberosTokenError(`unsupported GSS mechanism ${mech}${inside ? ' inside SPNEGO' : ''}`);
  const init = readTlv(rest);
  if (init.cls !== CONTEXT || init.tag !== 0) throw new KerberosTokenError('SPNEGO token is not a NegTokenInit');
  const f = fields(readTlv(init.value), 'NegTokenInit');
  const mechs = children(field(f, 0, 'mechTypes')).map(oid);
  const first = mechs[0];
  if (first !== KRB5 && first !== KRB5_MS) throw new KerberosTokenError(`the client offers ${mechs.join(', ') || 'no mechanism'} first, not Kerberos`);
  const mechToken = f.get(2);
  if (!mechToken) throw new KerberosTokenError('SPNEGO token carries no Kerberos token');
  const krb = unwrap(octets(mechToken), true);
  return { apReq: krb.apReq, mech: first, spnego: true };
}

/**
 * Recently accepted authenticators, for as long as their time is inside the skew window. When
 * full of unexpired entries it refuses new logins rather than forget one (a forgotten entry
 * could be replayed): a full cache means more logins within the skew than `max`.
 */
export class ReplayCache implements AuthenticatorReplay {
  private readonly seen = new Map<string, number>();
  constructor(private readonly max = 100_000) {}

  claim(key: string, expires: number, now: number): ReplayClaim {
    return this.add(key, expires, now);
  }

  add(key: string, expires: number, now: number): ReplayClaim {
    const seen = this.seen.get(key);
    if (seen !== undefined && seen > now) return 'replayed';
    if (this.seen.size >= this.max) for (const [k, e] of this.seen) if (e <= now) this.seen.delete(k);
    if (this.seen.size >= this.max) return 'full';
    this.seen.set(key, expires);
    return 'added';
  }
}

export class NegotiateAcceptor {
  private readonly replay: AuthenticatorReplay;
  private readonly now: () => number;
  constructor(private readonly options: AcceptorOptions) {
    this.now = options.now ?? Date.now;
    this.replay = options.replay ?? new ReplayCache();
  }

  async accept(headerValue: string): Promise<AcceptedClient> {
    const m = /^Negotiate\s+([A-Za-z0-9+/=]+)\s*$/i.exec(headerValue);
    if (!m) throw new KerberosTokenError('expected Authorization: Negotiate <base64 token>');
    const { apReq, mech, spnego } = unwrap(Buffer.from(m[1]!, 'base64'));
    const req = fields(application(readTlv(apReq), 14, 'an AP-REQ'), 'AP-REQ');
    if (integer(field(req, 1, 'msg-type')) !== 14) throw new KerberosTokenError('not an AP-REQ');
    const options = field(req, 2, 'ap-options').value; // BIT STRING: unused-bits byte, then flags
    const mutual = (options[1] ?? 0) & 0x20;

    const ticket = fields(application(field(req, 3, 'ticket'), 1, 'a Ticket'), 'Ticket');
    const service = principalName(field(ticket, 2, 'sname'));
    const serviceRealm = text(field(ticket, 1, 'realm'));
    if (this.options.services?.length && !this.options.services.includes(service)) throw new KerberosTokenError(`ticket for ${service}, not a service this hub accepts`);
    const encTicket = encryptedData(field(ticket, 3, 'enc-part'));
    if (!supportedEtype(encTicket.etype)) throw new KerberosTokenError(`ticket encryption type ${encTicket.etype} is not supported (aes128/aes256-cts-hmac-sha1-96 are)`);
    const serviceKey = keyFor(this.options.keytab, service, serviceRealm, encTicket.etype, encTicket.kvno);
    const part = fields(application(readTlv(decrypt(serviceKey, USAGE_TICKET, encTicket.cipher)), 3, 'an EncTicketPart'), 'EncTicketPart');
    const keyFields = fields(field(part, 1, 'key'), 'EncryptionKey');
    const sessionEtype = integer(field(keyFields, 0, 'keytype'));
    if (!supportedEtype(sessionEtype)) throw new KerberosTokenError(`session key type ${sessionEtype} is not supported`);
    const sessionKey = octets(field(keyFields, 1, 'keyvalue'));
    const crealm = text(field(part, 2, 'crealm'));
    const cname = principalName(field(part, 3, 'cname'));
    const now = this.now();
    const skew = this.options.clockSkewMs;
    const start = part.get(6) ? time(part.get(6)!) : time(field(part, 5, 'authtime'));
    if (start - skew > now) throw new KerberosTokenError('ticket not valid yet (clock skew?)');
    if (time(field(part, 7, 'endtime')) + skew < now) throw new KerberosTokenError('ticket expired');

    const encAuth = encryptedData(field(req, 4, 'authenticator'));
    const auth = fields(application(readTlv(decrypt(sessionKey, USAGE_AUTHENTICATOR, encAuth.cipher)), 2, 'an Authenticator'), 'Authenticator');
    if (text(field(auth, 1, 'crealm')) !== crealm || principalName(field(auth, 2, 'cname')) !== cname) throw new KerberosTokenError('authenticator and ticket name different clients');
    const ctime = time(field(auth, 5, 'ctime'));
    const cusec = integer(field(auth, 4, 'cusec'));
    if (Math.abs(now - ctime) > skew) throw new KerberosTokenError('authenticator time outside the allowed clock skew');
    // The service is part of the key (as in MIT's replay cache): one authenticator, one service.
    const added = await this.replay.claim(`${service}@${serviceRealm} ${cname}@${crealm} ${ctime} ${cusec}`, ctime + skew, now);
    if (added === 'replayed') throw new KerberosTokenError('authenticator replayed');
    if (added === 'full') throw new KerberosTokenError('replay cache full (more logins within the clock skew than it holds): refused rather than forget one');

    const result: AcceptedClient = { name: cname, realm: crealm };
    if (mutual) {
      const seqNumber = auth.get(7);
      const encPart = app(27, seq(ctx(0, kerberosTime(ctime)), ctx(1, int(cusec)), ...(seqNumber ? [ctx(3, int(integer(seqNumber)))] : [])));
      const apRep = app(15, seq(ctx(0, int(5)), ctx(1, int(15)), ctx(2, seq(ctx(0, int(sessionEtype)), ctx(2, octetString(encrypt(sessionKey, USAGE_AP_REP, encPart)))))));
      const krbToken = app(0, Buffer.concat([objectId(KRB5), Buffer.from([0x02, 0x00]), apRep]));
      const out = spnego ? encode(CONTEXT, true, 1, seq(ctx(0, enumerated(0)), ctx(1, objectId(mech)), ctx(2, octetString(krbToken)))) : krbToken;
      result.reply = `Negotiate ${out.toString('base64')}`;
    }
    return result;
  }
}
