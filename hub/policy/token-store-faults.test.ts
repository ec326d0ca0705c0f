// tokens.json deleted or cut under a running hub: the tokens keep working (the hub does not take
// a lost file for "no tokens"), the loss is counted and degrades /healthz, and the next flush
// interval's maintain() writes the file again from memory, so a restart has every token.
import { mkdtempSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WriteFaults } from '../../shared/durability/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { TokenStore } from './token-store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'tokens-lost-'));
  dirs.push(dir);
  const faults = new WriteFaults({ logger: silentLogger() });
  const store = new TokenStore(dir, undefined, faults);
  const a = store.create('reader');
  const b = store.create('writer');
  return { dir, faults, store, a, b, file: join(dir, 'tokens.json') };
}

describe('TokenStore: tokens.json lost under the hub', () => {
  for (const how of ['deleted', 'truncated'] as const) {
    it(`${how}: tokens keep working, the loss is counted, and the file is rewritten from memory at the next maintain()`, () => {
      const { dir, faults, store, a, b, file } = setup();
      if (how === 'deleted') rmSync(file);
      else truncateSync(file, Math.floor(statSync(file).size / 2));
      expect(store.verify(a.token)).toBe('reader');
      expect(store.list().map((t) => t.name)).toEqual(['reader', 'writer']);
      store.maintain();
      expect(faults.errorCounts().get('tokens')).toBe(1);
      // Rewritten at once: degraded only if that write failed.
      expect(faults.degraded()).toEqual([]);
      const restarted = new TokenStore(dir);
      expect(restarted.verify(a.token)).toBe('reader');
      expect(restarted.verify(b.token)).toBe('writer');
      store.maintain();
      expect(faults.errorCounts().get('tokens')).toBe(1);
    });
  }

  it('a tokens.json written by hand (sfleet token create --data-dir) is still read', () => {
    const { dir, store } = setup();
    const byHand = new TokenStore(dir).create('by-hand');
    store.maintain();
    expect(store.verify(byHand.token)).toBe('by-hand');
  });
});
