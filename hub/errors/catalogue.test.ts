import { status as GrpcStatus } from '@grpc/grpc-js';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODE_PATTERN, FleetError, GRANDFATHERED_CODES } from '../../shared/errors/index.js';
import { ERROR_CATALOGUE } from './index.js';

const root = join(import.meta.dirname, '../..');
const entries = ERROR_CATALOGUE.flatMap((a) => a.entries.map((e) => ({ ...e, error: e.example() })));

/** Every non-test source file of the code that throws (agent, hub, shared, cli). */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const path = join(dir, d.name);
    if (d.isDirectory()) return d.name === 'testdata' ? [] : sources(path);
    return d.name.endsWith('.ts') && !d.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** Classes that extend FleetError, directly or not, by name: abstract ones apart. */
function fleetErrorClasses(): { concrete: Map<string, string>; abstract: Set<string> } {
  const parent = new Map<string, { base: string; file: string; abstract: boolean }>();
  for (const file of ['agent', 'hub', 'shared', 'cli'].flatMap((d) => sources(join(root, d)))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/^(?:export )?(abstract )?class (\w+) extends (\w+)/gm)) {
      parent.set(m[2], { base: m[3], file: relative(root, file), abstract: !!m[1] });
    }
  }
  const concrete = new Map<string, string>();
  const abstract = new Set<string>();
  for (const [name, c] of parent) {
    let base: string | undefined = c.base;
    while (base && base !== 'FleetError') base = parent.get(base)?.base;
    if (!base) continue;
    if (c.abstract) abstract.add(name);
    else concrete.set(name, c.file);
  }
  return { concrete, abstract };
}

describe('the error catalogue', () => {
  it('gives every code the form SF_<AREA>_<WHAT> in upper snake case', () => {
    const malformed = entries.map((e) => e.error.code).filter((code) => !ERROR_CODE_PATTERN.test(code) && !GRANDFATHERED_CODES.includes(code));
    expect(malformed).toEqual([]);
  });

  it('lists each code once', () => {
    const codes = entries.map((e) => e.error.code);
    expect(codes.filter((c, i) => codes.indexOf(c) !== i)).toEqual([]);
  });

  it('holds every FleetError class that can be thrown (add a missing one to hub/errors/index.ts)', () => {
    const { concrete } = fleetErrorClasses();
    const listed = new Set(entries.map((e) => e.error.constructor.name));
    const missing = [...concrete].filter(([name]) => !listed.has(name)).map(([name, file]) => `${name} (${file})`);
    expect(missing).toEqual([]);
    // And the scan sees the classes the catalogue names, so it does not pass by finding nothing.
    expect([...listed].filter((name) => !concrete.has(name))).toEqual([]);
  });

  it('holds no class that nothing throws', () => {
    const code = ['agent', 'hub', 'shared', 'cli']
      .flatMap((d) => sources(join(root, d)))
      .filter((f) => !f.startsWith(join(root, 'hub/errors')))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    const unused = [...new Set(entries.map((e) => e.error.constructor.name))].filter((name) => !code.includes(`new ${name}(`));
    expect(unused).toEqual([]);
  });

  it('gives each entry a meaning, an error status and a gRPC code other than OK', () => {
    for (const { error, meaning } of entries) {
      expect(error).toBeInstanceOf(FleetError);
      expect(meaning.length, error.code).toBeGreaterThan(20);
      expect(error.httpStatus, error.code).toBeGreaterThanOrEqual(400);
      expect(error.httpStatus, error.code).toBeLessThan(600);
      expect(GrpcStatus[error.grpcCode], error.code).toBeDefined();
      expect(error.grpcCode, error.code).not.toBe(GrpcStatus.OK);
    }
  });
});
