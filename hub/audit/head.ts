// HEAD: the chain's last seq and hash, beside the files, so cutting records off the end shows.
// With the HMAC key it carries a MAC, so it cannot be rewritten to match a forged tail.
import { createHmac } from 'node:crypto';
import { canonicalJson } from './record.js';

export interface ChainHead {
  file: string | null;
  seq: number;
  hash: string;
  mac?: string;
}

const macOf = (h: ChainHead, key: Buffer): string => createHmac('sha256', key).update(canonicalJson({ file: h.file, seq: h.seq, hash: h.hash })).digest('hex');

export function formatHead(h: Omit<ChainHead, 'mac'>, key?: Buffer): string {
  return JSON.stringify(key ? { ...h, mac: macOf(h, key) } : h);
}

/** The head, or why it is unusable. */
export function parseHead(text: string): ChainHead | string {
  try {
    const h = JSON.parse(text) as Partial<ChainHead>;
    if (typeof h.seq !== 'number' || typeof h.hash !== 'string') return 'HEAD has no seq and hash';
    return { file: h.file ?? null, seq: h.seq, hash: h.hash, ...(typeof h.mac === 'string' ? { mac: h.mac } : {}) };
  } catch {
    return 'HEAD is not JSON';
  }
}

/** With the key: why HEAD cannot be trusted, or undefined. A hub with the key signs HEAD when it opens the log. */
export function headMacProblem(h: ChainHead, key: Buffer): string | undefined {
  if (h.mac === undefined) return 'HEAD carries no HMAC: it was rewritten without the key (or no hub with the key has opened this log yet)';
  return h.mac === macOf(h, key) ? undefined : "HEAD's HMAC does not match: it was rewritten without the key (or the key is wrong)";
}
