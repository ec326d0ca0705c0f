// The client side of a Kerberos login (`sfleet login --kerberos`): from the user's credential
// cache (kinit) to an `Authorization: Negotiate` header for one service. A service ticket in the
// cache is used as it is; otherwise one is asked of the KDC with the TGT (a TGS exchange, RFC 4120
// 3.3, over TCP). The AP-REQ carries the GSS checksum (RFC 4121 4.1.1) and goes in a SPNEGO
// NegTokenInit (RFC 4178), as MIT's and Windows' clients send it.
import { randomBytes, randomInt } from 'node:crypto';
import { connect } from 'node:net';
import { checksum, decrypt, encrypt, ETYPE_AES128, ETYPE_AES256, supportedEtype } from './aes-cts.js';
import { ccachePath, principalText, readCcache, type Principal } from './ccache.js';
import { app, application, bitString, ctx, field, fields, generalString, int, integer, kerberosTime, objectId, octets, octetString, readTlv, seq, text, APPLICATION, encode } from './der.js';
import { KerberosTokenError } from './errors.js';
import { kdcsOf } from './krb5-conf.js';

const SPNEGO = '1.3.6.1.5.5.2';
const KRB5 = '1.2.840.113554.1.2.2';
const NT_PRINCIPAL = 1;
const NT_SRV_INST = 2;
const CKSUM_FOR_ETYPE: Record<number, number> = { [ETYPE_AES128]: 15, [ETYPE_AES256]: 16 };

interface ServiceTicket {
  ticket: Buffer;
  key: Buffer;
  etype: number;
}

export interface NegotiateOptions {
  /** e.g. HTTP/hub.example.org (realm: the user's) */
  service: string;
  env?: NodeJS.ProcessEnv;
  now?: () => number;
  timeoutMs?: number;
}

const principalName = (type: number, components: string[]) => seq(ctx(0, int(type)), ctx(1, seq(...components.map(generalString))));

function authenticator(client: Principal, now: number, extra: Buffer[]): Buffer {
  return app(2, seq(ctx(0, int(5)), ctx(1, generalString(client.realm)), ctx(2, principalName(NT_PRINCIPAL, client.components)), ...extra.slice(0, 1), ctx(4, int((now % 1000) * 1000)), ctx(5, kerberosTime(now)), ...extra.slice(1)));
}

function apReq(ticket: Buffer, sealedAuthenticator: Buffer, etype: number, options = 0): Buffer {
  const opts = Buffer.alloc(4);
  opts.writeUInt32BE(options);
  return app(14, seq(ctx(0, int(5)), ctx(1, int(14)), ctx(2, bitString(opts)), ctx(3, ticket), ctx(4, seq(ctx(0, int(etype)), ctx(2, octetString(sealedAuthenticator))))));
}

function kdcExchange(host: string, port: number, message: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const chunks: Buffer[] = [];
    let got = 0;
    const fail = (err: Error) => {
      socket.destroy();
      reject(err);
    };
    socket.setTimeout(timeoutMs, () => fail(new KerberosTokenError(`the KDC ${host}:${port} did not answer within ${timeoutMs} ms`)));
    socket.on('error', (err) => fail(new KerberosTokenError(`cannot reach the KDC ${host}:${port}: ${(err as NodeJS.ErrnoException).code ?? err.message}`)));
    socket.on('connect', () => {
      const length = Buffer.alloc(4);
      length.writeUInt32BE(message.length);
      socket.write(Buffer.concat([length, message]));
    });
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      got += chunk.length;
      const all = Buffer.concat(chunks);
      if (got >= 4 && all.readUInt32BE(0) > 1 << 20) return fail(new KerberosTokenError('the KDC answer is too large'));
      if (got >= 4 && got >= 4 + all.readUInt32BE(0)) {
        socket.end();
        resolve(all.subarray(4, 4 + all.readUInt32BE(0)));
      }
    });
    socket.on('end', () => fail(new KerberosTokenError(`the KDC ${host}:${port} closed the connection without an answer`)));
  });
}

function krbError(answer: Buffer): string | undefined {
  const outer = readTlv(answer);
  if (outer.cls !== APPLICATION || outer.tag !== 30) return undefined;
  const f = fields(readTlv(outer.value), 'KRB-ERROR');
  const code = integer(field(f, 6, 'error-code'));
  const etext = f.get(11);
  const names: Record<number, string> = { 6: 'client unknown to the KDC', 7: 'service principal unknown to the KDC', 32: 'ticket expired (run kinit again)', 37: 'clock skew too great', 41: 'integrity check failed' };
  return `the KDC refused: ${names[code] ?? `error ${code}`}${etext ? ` (${text(etext)})` : ''}`;
}

/** A service ticket for `service` with the TGT (TGS-REQ / TGS-REP). */
async function askKdc(client: Principal, tgt: ServiceTicket, service: string[], realm: string, env: NodeJS.ProcessEnv, now: number, timeoutMs: number): Promise<ServiceTicket> {
  const nonce = randomInt(1, 2 ** 31 - 1);
  const body = seq(
    ctx(0, bitString(Buffer.alloc(4))),
    ctx(2, generalString(realm)),
    ctx(3, principalName(NT_SRV_INST, service)),
    ctx(5, kerberosTime(now + 10 * 3_600_000)),
    ctx(7, int(nonce)),
    ctx(8, seq(int(ETYPE_AES256), int(ETYPE_AES128))),
  );
  const cksum = seq(ctx(0, int(CKSUM_FOR_ETYPE[tgt.etype]!)), ctx(1, octetString(checksum(tgt.key, 6, body))));
  const auth = encrypt(tgt.key, 7, authenticator(client, now, [ctx(3, cksum)]));
  const padata = seq(seq(ctx(1, int(1)), ctx(2, octetString(apReq(tgt.ticket, auth, tgt.etype)))));
  const request = app(12, seq(ctx(1, int(5)), ctx(2, int(12)), ctx(3, padata), ctx(4, body)));
  let lastError: Error | undefined;
  for (const kdc of kdcsOf(realm, env)) {
    let answer: Buffer;
    try {
      answer = await kdcExchange(kdc.host, kdc.port, request, timeoutMs);
    } catch (err) {
      lastError = err as Error;
      continue;
    }
    const refused = krbError(answer);
    if (refused) throw new KerberosTokenError(`${refused} for ${service.join('/')}@${realm}`);
    const rep = fields(application(readTlv(answer), 13, 'a TGS-REP'), 'TGS-REP');
    const encPart = fields(field(rep, 6, 'enc-part'), 'EncryptedData');
    const part = fields(application(readTlv(decrypt(tgt.key, 8, octets(field(encPart, 2, 'cipher')))), 26, 'an EncTGSRepPart'), 'EncTGSRepPart');
    if (integer(field(part, 2, 'nonce')) !== nonce) throw new KerberosTokenError('the KDC answered another request (nonce)');
    const key = fields(field(part, 0, 'key'), 'EncryptionKey');
    const etype = integer(field(key, 0, 'keytype'));
    if (!supportedEtype(etype)) throw new KerberosTokenError(`the KDC chose session key type ${etype} (aes128/aes256-cts-hmac-sha1-96 are supported)`);
    return { ticket: field(rep, 5, 'ticket').raw, key: octets(field(key, 1, 'keyvalue')), etype };
  }
  throw lastError ?? new KerberosTokenError(`no KDC of ${realm} answered`);
}

/** `Negotiate <token>` for `service`, and the client principal it speaks for. */
export async function negotiateHeader(options: NegotiateOptions): Promise<{ header: string; client: string }> {
  const env = options.env ?? process.env;
  const now = (options.now ?? Date.now)();
  const service = options.service.split('/');
  if (service.length !== 2 || !service[0] || !service[1]) throw new KerberosTokenError(`service principal ${options.service}: expected SERVICE/host, e.g. HTTP/hub.example.org`);
  const file = ccachePath(env);
  const cache = readCcache(file);
  const client = cache.principal;
  const realm = client.realm;
  const usable = cache.credentials.filter((c) => c.endTime > now + 60_000 && supportedEtype(c.etype) && principalText(c.client) === principalText(client));
  let ticket: ServiceTicket | undefined;
  const cached = usable.find((c) => c.server.realm === realm && c.server.components.join('/') === options.service);
  if (cached) ticket = { ticket: cached.ticket, key: cached.key, etype: cached.etype };
  else {
    const tgt = usable.find((c) => c.server.components.length === 2 && c.server.components[0] === 'krbtgt' && c.server.components[1] === realm);
    if (!tgt) throw new KerberosTokenError(`no valid ticket-granting ticket for ${principalText(client)} in ${file}: run kinit`);
    ticket = await askKdc(client, { ticket: tgt.ticket, key: tgt.key, etype: tgt.etype }, service, realm, env, now, options.timeoutMs ?? 10_000);
  }
  // RFC 4121 4.1.1: the GSS checksum (no channel bindings, no flags asked for).
  const gss = Buffer.alloc(24);
  gss.writeUInt32LE(16, 0);
  const sealed = encrypt(ticket.key, 11, authenticator(client, now, [ctx(3, seq(ctx(0, int(0x8003)), ctx(1, octetString(gss)))), ctx(7, int(randomBytes(4).readUInt32BE() >>> 1))]));
  const krbToken = app(0, Buffer.concat([objectId(KRB5), Buffer.from([0x01, 0x00]), apReq(ticket.ticket, sealed, ticket.etype)]));
  const negTokenInit = encode(2, true, 0, seq(ctx(0, seq(objectId(KRB5))), ctx(2, octetString(krbToken))));
  const token = app(0, Buffer.concat([objectId(SPNEGO), negTokenInit]));
  return { header: `Negotiate ${token.toString('base64')}`, client: principalText(client) };
}
