// The little of ASN.1 DER that Kerberos messages need (RFC 4120 is DER with explicit context
// tags): read one TLV at a time, and write the same shapes back for replies and tests.
import { KerberosTokenError } from './errors.js';

export const UNIVERSAL = 0;
export const APPLICATION = 1;
export const CONTEXT = 2;

export interface Tlv {
  cls: number;
  constructed: boolean;
  tag: number;
  /** The contents (without tag and length). */
  value: Buffer;
  /** The whole TLV, as read (for checksums over encoded parts). */
  raw: Buffer;
}

/** One TLV at `offset`; refuses indefinite lengths, lengths past the buffer and absurd tags. */
export function readTlv(buf: Buffer, offset = 0): Tlv {
  let p = offset;
  const need = (n: number) => {
    if (p + n > buf.length) throw new KerberosTokenError('truncated ASN.1 element');
  };
  need(2);
  const first = buf[p++]!;
  const cls = first >> 6;
  const constructed = (first & 0x20) !== 0;
  let tag = first & 0x1f;
  if (tag === 0x1f) {
    tag = 0;
    for (let i = 0; ; i++) {
      need(1);
      const b = buf[p++]!;
      tag = tag * 128 + (b & 0x7f);
      if (!(b & 0x80)) break;
      if (i >= 3) throw new KerberosTokenError('ASN.1 tag too large');
    }
  }
  need(1);
  let length = buf[p++]!;
  if (length === 0x80) throw new KerberosTokenError('indefinite ASN.1 length (not DER)');
  if (length > 0x80) {
    const n = length & 0x7f;
    if (n > 4) throw new KerberosTokenError('ASN.1 length too large');
    need(n);
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[p++]!;
  }
  need(length);
  return { cls, constructed, tag, value: buf.subarray(p, p + length), raw: buf.subarray(offset, p + length) };
}

/** The TLVs inside a constructed one. */
export function children(tlv: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = 0; p < tlv.value.length; ) {
    const child = readTlv(tlv.value, p);
    out.push(child);
    p += child.raw.length;
  }
  return out;
}

export function expect(tlv: Tlv, cls: number, tag: number, what: string): Tlv {
  if (tlv.cls !== cls || tlv.tag !== tag) throw new KerberosTokenError(`expected ${what}`);
  return tlv;
}

/** The fields of a SEQUENCE of explicitly tagged members, by context tag number. */
export function fields(seq: Tlv, what: string): Map<number, Tlv> {
  expect(seq, UNIVERSAL, 0x10, `${what} (a SEQUENCE)`);
  const out = new Map<number, Tlv>();
  for (const c of children(seq)) {
    if (c.cls !== CONTEXT) throw new KerberosTokenError(`${what}: unexpected member`);
    out.set(c.tag, readTlv(c.value));
  }
  return out;
}

export function field(f: Map<number, Tlv>, n: number, what: string): Tlv {
  const t = f.get(n);
  if (!t) throw new KerberosTokenError(`${what} is missing`);
  return t;
}

/** The SEQUENCE inside an [APPLICATION n] wrapper. */
export function application(tlv: Tlv, n: number, what: string): Tlv {
  expect(tlv, APPLICATION, n, what);
  return readTlv(tlv.value);
}

export function integer(tlv: Tlv): number {
  expect(tlv, UNIVERSAL, 0x02, 'an INTEGER');
  if (tlv.value.length === 0 || tlv.value.length > 6) throw new KerberosTokenError('INTEGER out of range');
  return tlv.value.readIntBE(0, tlv.value.length);
}

export function octets(tlv: Tlv): Buffer {
  return expect(tlv, UNIVERSAL, 0x04, 'an OCTET STRING').value;
}

export function text(tlv: Tlv): string {
  if (tlv.cls !== UNIVERSAL || (tlv.tag !== 0x1b && tlv.tag !== 0x16 && tlv.tag !== 0x0c)) throw new KerberosTokenError('expected a string');
  return tlv.value.toString('utf8');
}

/** KerberosTime: GeneralizedTime YYYYMMDDHHMMSSZ. */
export function time(tlv: Tlv): number {
  expect(tlv, UNIVERSAL, 0x18, 'a GeneralizedTime');
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(tlv.value.toString('latin1'));
  if (!m) throw new KerberosTokenError('malformed KerberosTime');
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}

export function oid(tlv: Tlv): string {
  const v = expect(tlv, UNIVERSAL, 0x06, 'an OBJECT IDENTIFIER').value;
  if (v.length === 0) throw new KerberosTokenError('empty OBJECT IDENTIFIER');
  const parts = [Math.floor(v[0]! / 40), v[0]! % 40];
  let n = 0;
  for (let i = 1; i < v.length; i++) {
    n = n * 128 + (v[i]! & 0x7f);
    if (!(v[i]! & 0x80)) {
      parts.push(n);
      n = 0;
    }
  }
  return parts.join('.');
}

// --- writing ---

function lengthBytes(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function encode(cls: number, constructed: boolean, tag: number, value: Buffer): Buffer {
  if (tag >= 0x1f) throw new Error('high tag numbers are not written');
  return Buffer.concat([Buffer.from([(cls << 6) | (constructed ? 0x20 : 0) | tag]), lengthBytes(value.length), value]);
}

export const seq = (...items: Buffer[]) => encode(UNIVERSAL, true, 0x10, Buffer.concat(items));
export const ctx = (n: number, inner: Buffer) => encode(CONTEXT, true, n, inner);
export const app = (n: number, inner: Buffer) => encode(APPLICATION, true, n, inner);
export const octetString = (b: Buffer) => encode(UNIVERSAL, false, 0x04, b);
export const generalString = (s: string) => encode(UNIVERSAL, false, 0x1b, Buffer.from(s, 'utf8'));
export const enumerated = (n: number) => encode(UNIVERSAL, false, 0x0a, Buffer.from([n]));
export const bitString = (b: Buffer) => encode(UNIVERSAL, false, 0x03, Buffer.concat([Buffer.from([0]), b]));

export function int(n: number): Buffer {
  const bytes: number[] = [];
  let v = n;
  do {
    bytes.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0);
  if (bytes[0]! & 0x80) bytes.unshift(0);
  return encode(UNIVERSAL, false, 0x02, Buffer.from(bytes));
}

export function kerberosTime(ms: number): Buffer {
  const iso = new Date(Math.floor(ms / 1000) * 1000).toISOString(); // 2026-12-07T12:00:00.000Z
  return encode(UNIVERSAL, false, 0x18, Buffer.from(iso.replace(/[-:T]/g, '').replace(/\.\d{3}/, ''), 'latin1'));
}

export function objectId(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const bytes: number[] = [parts[0]! * 40 + parts[1]!];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return encode(UNIVERSAL, false, 0x06, Buffer.from(bytes));
}
