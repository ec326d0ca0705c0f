import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { weakenVersionNeeds } from './addon-compat.js';

const shipped = path.join(import.meta.dirname, '../../node_modules/@jazzer.js/fuzzer/prebuilds/fuzzer-linux-x64.node');

describe('the Jazzer.js addon made loadable on glibc 2.36', () => {
  it('marks exactly the GLIBC_2.38 and GLIBCXX_3.4.32 needs weak and changes no other byte', () => {
    const original = readFileSync(shipped);
    const patched = weakenVersionNeeds(Buffer.from(original));
    const changed = [...patched.keys()].filter((i) => patched[i] !== original[i]);
    expect(changed).toHaveLength(2);
    // vna_flags of each: VER_FLG_WEAK (2) added to what was there.
    for (const at of changed) expect(patched[at]).toBe(original[at] | 2);
    // Twice is the same file (idempotent), and the needs are still found.
    expect(weakenVersionNeeds(Buffer.from(patched)).equals(patched)).toBe(true);
  });

  it('refuses what is not a little-endian ELF64 file instead of writing into it', () => {
    expect(() => weakenVersionNeeds(Buffer.from('#!/bin/sh\necho not an addon\n'))).toThrow('not a little-endian ELF64 file');
  });
});
