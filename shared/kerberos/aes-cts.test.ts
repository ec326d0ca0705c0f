import { describe, expect, it } from 'vitest';
import { createCipheriv } from 'node:crypto';
import { ctsDecrypt, ctsEncrypt, decrypt, deriveKey, encrypt, nfold } from './aes-cts.js';

describe('Kerberos AES crypto (RFC 3961 / RFC 3962 test vectors)', () => {
  it('n-folds as RFC 3961 appendix A.1 shows', () => {
    expect(nfold(Buffer.from('012345'), 8).toString('hex')).toBe('be072631276b1955');
    expect(nfold(Buffer.from('password'), 7).toString('hex')).toBe('78a07b6caf85fa');
    expect(nfold(Buffer.from('Rough Consensus, and Running Code'), 8).toString('hex')).toBe('bb6ed30870b7f0e0');
    expect(nfold(Buffer.from('password'), 21).toString('hex')).toBe('59e4a8ca7c0385c3c37b3f6d2000247cb6e6bd5b3e');
    expect(nfold(Buffer.from('kerberos'), 16).toString('hex')).toBe('6b65726265726f737b9b5b2b93132b93');
  });

  // RFC 3962 appendix B: AES-128 "chicken teriyaki", IV zero, CBC with the last two blocks swapped.
  const key = Buffer.from('636869636b656e207465726979616b69', 'hex');
  const input = Buffer.from('4920776f756c64206c696b65207468652047656e6572616c20476175277320436869636b656e2c20706c656173652c20616e6420776f6e746f6e20736f75702e', 'hex');
  const vectors: [number, string][] = [
    [17, 'c6353568f2bf8cb4d8a580362da7ff7f97'],
    [31, 'fc00783e0efdb2c1d445d4c8eff7ed2297687268d6ecccc0c07b25e25ecfe5'],
    [32, '39312523a78662d5be7fcbcc98ebf5a897687268d6ecccc0c07b25e25ecfe584'],
    [47, '97687268d6ecccc0c07b25e25ecfe584b3fffd940c16a18c1b5549d2f838029e39312523a78662d5be7fcbcc98ebf5'],
    [64, '97687268d6ecccc0c07b25e25ecfe58439312523a78662d5be7fcbcc98ebf5a84807efe836ee89a526730dbc2f7bc8409dad8bbb96c4cdc03bc103e1a194bbd8'],
  ];
  it.each(vectors)('encrypts %i bytes as RFC 3962 shows, and back', (n, hex) => {
    const out = ctsEncrypt(key, input.subarray(0, n));
    expect(out.toString('hex')).toBe(hex);
    expect(ctsDecrypt(key, out)).toEqual(input.subarray(0, n));
  });

  it('seals with a key per usage: a wrong usage or a changed byte fails the integrity check', () => {
    const k = Buffer.alloc(32, 7);
    const sealed = encrypt(k, 11, Buffer.from('an authenticator'));
    expect(decrypt(k, 11, sealed).toString()).toBe('an authenticator');
    expect(() => decrypt(k, 12, sealed)).toThrow(/integrity/);
    const bent = Buffer.from(sealed);
    bent[3]! ^= 1;
    expect(() => decrypt(k, 11, bent)).toThrow(/integrity/);
    // DK's first block is AES(key, n-fold(constant)): independent of this module's CBC code.
    const c = createCipheriv('aes-256-ecb', k, null).setAutoPadding(false);
    const first = Buffer.concat([c.update(nfold(Buffer.from([0, 0, 0, 11, 0xaa]), 16)), c.final()]);
    expect(deriveKey(k, Buffer.from([0, 0, 0, 11, 0xaa])).subarray(0, 16)).toEqual(first);
  });
});
