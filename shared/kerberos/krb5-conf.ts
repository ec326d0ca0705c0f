// Where a realm's KDC is: [realms] REALM = { kdc = host:port } of krb5.conf (KRB5_CONFIG, else
// /etc/krb5.conf). DNS SRV lookups are not made: a site without kdc lines sets them.
import { readFileSync } from 'node:fs';
import { KerberosTokenError } from './errors.js';

export function kdcsOf(realm: string, env: NodeJS.ProcessEnv = process.env): { host: string; port: number }[] {
  const files = (env.KRB5_CONFIG ?? '/etc/krb5.conf').split(':').filter(Boolean);
  const out: { host: string; port: number }[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    let section = '';
    let inRealm = false;
    for (const raw of text.split('\n')) {
      const line = raw.replace(/[#;].*$/, '').trim();
      const s = /^\[(\w+)\]$/.exec(line);
      if (s) {
        section = s[1]!;
        inRealm = false;
        continue;
      }
      if (section !== 'realms') continue;
      const open = /^(\S+)\s*=\s*\{$/.exec(line);
      if (open) inRealm = open[1] === realm;
      else if (line === '}') inRealm = false;
      else if (inRealm) {
        const kdc = /^kdc\s*=\s*(\[[^\]]+\]|[^:\s]+)(?::(\d+))?$/.exec(line);
        if (kdc) out.push({ host: kdc[1]!.replace(/^\[|\]$/g, ''), port: Number(kdc[2] ?? 88) });
      }
    }
  }
  if (out.length === 0) throw new KerberosTokenError(`no KDC for realm ${realm} in ${files.join(', ')} ([realms] ${realm} = { kdc = host:port })`);
  return out;
}
