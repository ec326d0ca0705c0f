// MIT keytab files (format 0x0502, what `kadmin ktadd` and `ktutil` write): the service's keys,
// by principal, key version and encryption type.
import { readFileSync } from 'node:fs';
import { KerberosTokenError } from './errors.js';

export interface KeytabEntry {
  /** name components joined by "/", e.g. HTTP/hub.example.org */
  principal: string;
  realm: string;
  kvno: number;
  etype: number;
  key: Buffer;
}

export class KeytabError extends Error {
  override readonly name = 'KeytabError';
}

export function parseKeytab(buf: Buffer, source = 'keytab'): KeytabEntry[] {
  if (buf.length < 2 || buf[0] !== 0x05 || buf[1] !== 0x02) throw new KeytabError(`${source}: not an MIT keytab (format 0x0502)`);
  const entries: KeytabEntry[] = [];
  let p = 2;
  while (p + 4 <= buf.length) {
    const size = buf.readInt32BE(p);
    p += 4;
    if (size < 0) {
      p += -size; // a hole left by a removed entry
      continue;
    }
    if (size === 0) break;
    if (p + size > buf.length) throw new KeytabError(`${source}: truncated entry`);
    const entry = buf.subarray(p, p + size);
    p += size;
    let q = 0;
    const u16 = () => ((q += 2), entry.readUInt16BE(q - 2));
    const str = () => {
      const n = u16();
      if (q + n > entry.length) throw new KeytabError(`${source}: truncated entry`);
      q += n;
      return entry.subarray(q - n, q).toString('utf8');
    };
    try {
      const count = u16();
      const realm = str();
      const parts: string[] = [];
      for (let i = 0; i < count; i++) parts.push(str());
      q += 4 + 4; // name type, timestamp
      let kvno = entry[q++]!;
      const etype = u16();
      const keyLength = u16();
      const key = Buffer.from(entry.subarray(q, q + keyLength));
      if (key.length !== keyLength) throw new KeytabError(`${source}: truncated key`);
      q += keyLength;
      if (q + 4 <= entry.length) {
        const kvno32 = entry.readUInt32BE(q);
        if (kvno32 !== 0) kvno = kvno32; // the 32-bit kvno, when present, supersedes the 8-bit one
      }
      entries.push({ principal: parts.join('/'), realm, kvno, etype, key });
    } catch (err) {
      if (err instanceof KeytabError) throw err;
      throw new KeytabError(`${source}: malformed entry`);
    }
  }
  return entries;
}

export function readKeytab(file: string): KeytabEntry[] {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (err) {
    throw new KeytabError(`cannot read the keytab ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const entries = parseKeytab(buf, file);
  if (entries.length === 0) throw new KeytabError(`the keytab ${file} holds no keys`);
  return entries;
}

/** The key for a ticket's service principal, realm, kvno (when given) and enctype. */
export function keyFor(entries: readonly KeytabEntry[], principal: string, realm: string, etype: number, kvno: number | undefined): Buffer {
  const match = entries.filter((e) => e.principal === principal && e.realm === realm && e.etype === etype);
  if (match.length === 0) throw new KerberosTokenError(`no key in the keytab for ${principal}@${realm} (enctype ${etype})`);
  const exact = kvno === undefined ? match : match.filter((e) => e.kvno === kvno);
  if (exact.length === 0) throw new KerberosTokenError(`no key version ${kvno} for ${principal}@${realm} in the keytab (a newer keytab is needed: ktadd after a key change)`);
  return exact.reduce((a, b) => (b.kvno > a.kvno ? b : a)).key;
}
