// MIT credential caches of type FILE (format 0x0504, what kinit writes): the default principal
// and its tickets with their session keys. Read only: `sfleet login --kerberos` takes the TGT
// from here, as every Kerberos client does.
import { readFileSync } from 'node:fs';
import { KerberosTokenError } from './errors.js';

export interface Principal {
  realm: string;
  components: string[];
}

export interface Credential {
  client: Principal;
  server: Principal;
  etype: number;
  key: Buffer;
  startTime: number;
  endTime: number;
  /** The ticket as the KDC sent it (DER). */
  ticket: Buffer;
}

export const principalText = (p: Principal) => `${p.components.join('/')}@${p.realm}`;

export function parseCcache(buf: Buffer): { principal: Principal; credentials: Credential[] } {
  let p = 0;
  const need = (n: number) => {
    if (p + n > buf.length) throw new KerberosTokenError('credential cache is truncated');
  };
  const u8 = () => (need(1), buf[p++]!);
  const u16 = () => (need(2), (p += 2), buf.readUInt16BE(p - 2));
  const u32 = () => (need(4), (p += 4), buf.readUInt32BE(p - 4));
  const data = () => {
    const n = u32();
    need(n);
    p += n;
    return buf.subarray(p - n, p);
  };
  const principal = (): Principal => {
    u32(); // name type
    const count = u32();
    const realm = data().toString('utf8');
    const components: string[] = [];
    for (let i = 0; i < count; i++) components.push(data().toString('utf8'));
    return { realm, components };
  };
  if (u8() !== 0x05) throw new KerberosTokenError('not an MIT credential cache');
  const version = u8();
  if (version !== 3 && version !== 4) throw new KerberosTokenError(`credential cache version ${version} is not supported (3 and 4 are)`);
  if (version === 4) {
    const tags = u16(); // header tags (clock offsets): not needed
    need(tags);
    p += tags;
  }
  const owner = principal();
  const credentials: Credential[] = [];
  while (p < buf.length) {
    const client = principal();
    const server = principal();
    const etype = u16();
    const key = Buffer.from(data());
    u32(); // authtime
    const startTime = u32() * 1000;
    const endTime = u32() * 1000;
    u32(); // renew till
    u8(); // is_skey
    u32(); // ticket flags
    const skipTyped = () => {
      u16();
      data();
    };
    for (let n = u32(); n > 0; n--) skipTyped(); // addresses
    for (let n = u32(); n > 0; n--) skipTyped(); // authorization data
    const ticket = Buffer.from(data());
    data(); // second ticket
    // MIT keeps its own settings as entries of the realm X-CACHECONF:; they are not tickets.
    if (server.realm === 'X-CACHECONF:') continue;
    credentials.push({ client, server, etype, key, startTime, endTime, ticket });
  }
  return { principal: owner, credentials };
}

/** KRB5CCNAME (FILE: or a path), else MIT's default /tmp/krb5cc_<uid>. */
export function ccachePath(env: NodeJS.ProcessEnv = process.env): string {
  const name = env.KRB5CCNAME;
  if (name) {
    if (name.startsWith('FILE:')) return name.slice(5);
    if (/^[A-Z]+:/.test(name)) throw new KerberosTokenError(`KRB5CCNAME=${name}: only FILE: credential caches are read (kinit -c FILE:/path)`);
    return name;
  }
  return `/tmp/krb5cc_${process.getuid?.() ?? 0}`;
}

export function readCcache(file: string): ReturnType<typeof parseCcache> {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (err) {
    throw new KerberosTokenError(`no Kerberos credentials in ${file} (${(err as NodeJS.ErrnoException).code ?? err}): run kinit first`);
  }
  return parseCcache(buf);
}
