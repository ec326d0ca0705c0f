// Kerberos encryption for the two enctypes MIT and Active Directory use by default:
// aes128-cts-hmac-sha1-96 (17) and aes256-cts-hmac-sha1-96 (18), RFC 3961 (simplified profile,
// n-fold, key derivation) and RFC 3962 (AES in CBC with ciphertext stealing, HMAC-SHA1-96).
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { KerberosTokenError } from './errors.js';

export const ETYPE_AES128 = 17;
export const ETYPE_AES256 = 18;
const KEY_LENGTH: Record<number, number> = { [ETYPE_AES128]: 16, [ETYPE_AES256]: 32 };
const BLOCK = 16;
const MAC = 12;

export function supportedEtype(etype: number): boolean {
  return etype in KEY_LENGTH;
}

function aes(key: Buffer): string {
  return key.length === 16 ? 'aes-128' : 'aes-256';
}

function rotateRight(input: Buffer, bits: number): Buffer {
  const total = input.length * 8;
  const out = Buffer.alloc(input.length);
  for (let i = 0; i < total; i++) {
    const from = (i - (bits % total) + total) % total;
    if (input[from >> 3]! & (0x80 >> (from & 7))) out[i >> 3]! |= 0x80 >> (i & 7);
  }
  return out;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** RFC 3961 5.1: n-fold `input` to `bytes` bytes. */
export function nfold(input: Buffer, bytes: number): Buffer {
  const lcm = (input.length * bytes) / gcd(input.length, bytes);
  const big = Buffer.alloc(lcm);
  for (let i = 0; i < lcm / input.length; i++) rotateRight(input, 13 * i).copy(big, i * input.length);
  const sum = new Array<number>(bytes).fill(0);
  for (let off = 0; off < lcm; off += bytes) {
    let carry = 0;
    for (let i = bytes - 1; i >= 0; i--) {
      const v = sum[i]! + big[off + i]! + carry;
      sum[i] = v & 0xff;
      carry = v >> 8;
    }
    // One's-complement addition: the carry out of the top goes back in at the bottom.
    for (let i = bytes - 1; carry && i >= 0; i--) {
      const v = sum[i]! + carry;
      sum[i] = v & 0xff;
      carry = v >> 8;
    }
  }
  return Buffer.from(sum);
}

function encryptBlock(key: Buffer, block: Buffer): Buffer {
  const c = createCipheriv(`${aes(key)}-ecb`, key, null).setAutoPadding(false);
  return Buffer.concat([c.update(block), c.final()]);
}

/** RFC 3961 5.1 DK(key, constant) for AES (random-to-key is the identity). */
export function deriveKey(key: Buffer, constant: Buffer): Buffer {
  const out: Buffer[] = [];
  let block = nfold(constant, BLOCK);
  for (let have = 0; have < key.length; have += BLOCK) {
    block = encryptBlock(key, block);
    out.push(block);
  }
  return Buffer.concat(out).subarray(0, key.length);
}

function usageConstant(usage: number, kind: number): Buffer {
  const b = Buffer.alloc(5);
  b.writeUInt32BE(usage);
  b[4] = kind;
  return b;
}

/** AES-CBC with ciphertext stealing, the last two blocks swapped (RFC 3962), IV zero. */
export function ctsEncrypt(key: Buffer, plain: Buffer): Buffer {
  if (plain.length < BLOCK) throw new Error('CTS needs at least one block');
  const blocks = Math.ceil(plain.length / BLOCK);
  const padded = Buffer.alloc(blocks * BLOCK);
  plain.copy(padded);
  const c = createCipheriv(`${aes(key)}-cbc`, key, Buffer.alloc(BLOCK)).setAutoPadding(false);
  const cbc = Buffer.concat([c.update(padded), c.final()]);
  if (blocks === 1) return cbc;
  const lastLen = plain.length - (blocks - 1) * BLOCK;
  const head = cbc.subarray(0, (blocks - 2) * BLOCK);
  const secondLast = cbc.subarray((blocks - 2) * BLOCK, (blocks - 1) * BLOCK);
  const last = cbc.subarray((blocks - 1) * BLOCK);
  return Buffer.concat([head, last, secondLast.subarray(0, lastLen)]);
}

export function ctsDecrypt(key: Buffer, cipher: Buffer): Buffer {
  if (cipher.length < BLOCK) throw new KerberosTokenError('ciphertext shorter than one block');
  const blocks = Math.ceil(cipher.length / BLOCK);
  const decipher = () => createDecipheriv(`${aes(key)}-cbc`, key, Buffer.alloc(BLOCK)).setAutoPadding(false);
  if (blocks === 1) {
    const d = decipher();
    return Buffer.concat([d.update(cipher), d.final()]);
  }
  const lastLen = cipher.length - (blocks - 1) * BLOCK;
  const head = cipher.subarray(0, (blocks - 2) * BLOCK);
  const fullLast = cipher.subarray((blocks - 2) * BLOCK, (blocks - 1) * BLOCK); // C(m), sent first
  const stolen = cipher.subarray((blocks - 1) * BLOCK); // C(m-1) cut to lastLen
  // Dec(C(m)) = P(m) (zero padded) xor C(m-1): its tail past lastLen is C(m-1)'s missing tail.
  const ecb = createDecipheriv(`${aes(key)}-ecb`, key, null).setAutoPadding(false);
  const dm = Buffer.concat([ecb.update(fullLast), ecb.final()]);
  const secondLast = Buffer.concat([stolen, dm.subarray(lastLen)]);
  const d = decipher();
  const plain = Buffer.concat([d.update(Buffer.concat([head, secondLast, fullLast])), d.final()]);
  return plain.subarray(0, cipher.length);
}

/** RFC 3961 simplified profile: confounder, CTS under Ke, HMAC-SHA1-96 under Ki. */
export function encrypt(key: Buffer, usage: number, plain: Buffer, confounder: Buffer = randomBytes(BLOCK)): Buffer {
  const ke = deriveKey(key, usageConstant(usage, 0xaa));
  const ki = deriveKey(key, usageConstant(usage, 0x55));
  const data = Buffer.concat([confounder, plain]);
  const mac = createHmac('sha1', ki).update(data).digest().subarray(0, MAC);
  return Buffer.concat([ctsEncrypt(ke, data), mac]);
}

export function decrypt(key: Buffer, usage: number, cipher: Buffer): Buffer {
  if (cipher.length < BLOCK + MAC) throw new KerberosTokenError('ciphertext too short');
  const ke = deriveKey(key, usageConstant(usage, 0xaa));
  const ki = deriveKey(key, usageConstant(usage, 0x55));
  const data = ctsDecrypt(ke, cipher.subarray(0, cipher.length - MAC));
  const mac = createHmac('sha1', ki).update(data).digest().subarray(0, MAC);
  if (!timingSafeEqual(mac, cipher.subarray(cipher.length - MAC))) throw new KerberosTokenError('integrity check failed (wrong key or altered token)');
  return data.subarray(BLOCK);
}

/** hmac-sha1-96-aes128/256 (checksum types 15 and 16). */
export function checksum(key: Buffer, usage: number, data: Buffer): Buffer {
  const kc = deriveKey(key, usageConstant(usage, 0x99));
  return createHmac('sha1', kc).update(data).digest().subarray(0, MAC);
}

export function keyLength(etype: number): number {
  const n = KEY_LENGTH[etype];
  if (!n) throw new KerberosTokenError(`encryption type ${etype} is not supported (aes128/aes256-cts-hmac-sha1-96 are)`);
  return n;
}
