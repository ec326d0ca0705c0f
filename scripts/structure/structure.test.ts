// The structure issue 10 asked for, kept: no import circles in the hub or the agent (or the
// code they share), and no module that emits on another's event emitter (subscriptions are
// typed methods of the owner, as FleetState's onChanges/onClusterStatus).
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importCircles, importGraph } from './imports.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('repository structure', () => {
  for (const folder of ['hub', 'agent', 'shared', 'sim', 'cli']) {
    it(`${folder}/ has no import circles`, () => {
      const graph = importGraph(join(ROOT, folder));
      expect(graph.size).toBeGreaterThan(10);
      expect(importCircles(graph)).toEqual([]);
    });
  }

  it('finds a circle where there is one (two files, and a longer ring)', () => {
    const graph = new Map([
      ['a.ts', new Set(['b.ts'])],
      ['b.ts', new Set(['a.ts', 'c.ts'])],
      ['c.ts', new Set(['d.ts'])],
      ['d.ts', new Set(['e.ts'])],
      ['e.ts', new Set(['c.ts'])],
      ['f.ts', new Set(['a.ts'])],
    ]);
    expect(importCircles(graph)).toEqual([
      ['c.ts', 'd.ts', 'e.ts'],
      ['a.ts', 'b.ts'],
    ]);
  });

  it('the hub emits only on its own emitters (and ends gRPC streams the way grpc-js documents)', () => {
    const offenders: string[] = [];
    for (const file of importGraph(join(ROOT, 'hub')).keys()) {
      const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
      lines.forEach((line, i) => {
        for (const m of line.matchAll(/([\w.]+)\.emit\(\s*(['"`]?)(\w*)/g)) {
          const [, target, , event] = m;
          // grpc-js: a server stream sends its status when 'error' is emitted on the call.
          const grpcStatus = /(^|\.)call$/.test(target) && event === 'error';
          if (target !== 'this' && !grpcStatus) offenders.push(`${file}:${i + 1}: ${line.trim()}`);
        }
      });
    }
    expect(offenders).toEqual([]);
  });
});
