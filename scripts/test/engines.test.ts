// Every installed package must run on the oldest Node.js this package claims (package.json
// engines): npm only warns about an engines mismatch, and a dependency that moved to a newer
// Node (light-my-request 6.8 pulled cookie 2, Node >= 22) would otherwise reach users on Node 20.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;

function* packages(dir: string): Generator<{ path: string; version: string; node?: string }> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.name.startsWith('@')) {
      yield* packages(path);
      continue;
    }
    const manifest = join(path, 'package.json');
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string; engines?: { node?: string } };
      yield { path: path.slice(ROOT.length), version: pkg.version, node: pkg.engines?.node };
    }
    if (existsSync(join(path, 'node_modules'))) yield* packages(join(path, 'node_modules'));
  }
}

describe('engines', () => {
  it('every installed package supports the oldest Node.js that package.json engines claims', () => {
    const ours = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
    const oldest = semver.minVersion(ours)!.version;
    expect(semver.major(oldest)).toBe(20);
    const refusing = [...packages(join(ROOT, 'node_modules'))].filter((p) => p.node && !semver.satisfies(oldest, p.node)).map((p) => `${p.path}@${p.version} wants node ${p.node}`);
    expect(refusing).toEqual([]);
  });
});
