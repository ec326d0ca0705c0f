// Test fixture: SPNEGO tokens made here under a known service key, as a client with a ticket for
// HTTP/hub@EX.ORG would send them, and its keytab. Imported by tests only.
import { encrypt } from '../../../shared/kerberos/aes-cts.js';
import { app, bitString, ctx, encode, generalString, int, kerberosTime, objectId, octetString, seq } from '../../../shared/kerberos/der.js';
import type { KeytabEntry } from '../../../shared/kerberos/keytab.js';

export const SERVICE_KEY = Buffer.alloc(32, 1);
const SESSION_KEY = Buffer.alloc(32, 2);
export const T0 = Date.UTC(2026, 11, 7, 12, 0, 0);
const name = (parts: string[]) => seq(ctx(0, int(1)), ctx(1, seq(...parts.map(generalString))));

export function token(o: { now?: number; endtime?: number; client?: string; authClient?: string; service?: string; kvno?: number; mutual?: boolean; etype?: number } = {}): string {
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

/** The keytab holding the service key the tokens are made under. */
export const KEYTAB: KeytabEntry[] = [{ principal: 'HTTP/hub', realm: 'EX.ORG', kvno: 3, etype: 18, key: SERVICE_KEY }];

/** KEYTAB as an MIT keytab file (format 0x0502), for code that reads sso.kerberos.keytab_file. */
export function keytabFile(): Buffer {
  const str = (s: string) => {
    const b = Buffer.from(s, 'utf8');
    const n = Buffer.alloc(2);
    n.writeUInt16BE(b.length);
    return Buffer.concat([n, b]);
  };
  const entries = KEYTAB.map((e) => {
    const parts = e.principal.split('/');
    const head = Buffer.alloc(2);
    head.writeUInt16BE(parts.length);
    const tail = Buffer.alloc(4 + 4 + 1 + 2 + 2);
    tail.writeUInt32BE(1, 0); // KRB5_NT_PRINCIPAL
    tail.writeUInt32BE(0, 4); // timestamp
    tail.writeUInt8(e.kvno, 8);
    tail.writeUInt16BE(e.etype, 9);
    tail.writeUInt16BE(e.key.length, 11);
    const body = Buffer.concat([head, str(e.realm), ...parts.map(str), tail, e.key]);
    const size = Buffer.alloc(4);
    size.writeInt32BE(body.length);
    return Buffer.concat([size, body]);
  });
  return Buffer.concat([Buffer.from([0x05, 0x02]), ...entries]);
}
