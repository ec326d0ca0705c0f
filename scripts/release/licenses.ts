// The licenses of what a release ships: every runtime dependency in package-lock.json (dev
// tools left out), checked against an allow-list, and the third-party notices (each package's
// name, version, license and its own license text) that the binary and image carry.
//
//   node dist/scripts/release/licenses.js [--notices FILE]
//
// Exits 1 naming each package whose license is not allowed or not declared.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Permissive licenses a binary may link and ship with their notices. */
export const ALLOWED_LICENSES = ['MIT', 'MIT-0', 'ISC', 'Apache-2.0', 'BSD-2-Clause', 'BSD-3-Clause', '0BSD', 'BlueOak-1.0.0', 'CC0-1.0', 'Unlicense', 'Python-2.0'];

export interface RuntimePackage {
  name: string;
  version: string;
  license: string;
  /** Where it is installed, relative to the checkout. */
  path: string;
}

/**
 * Whether an SPDX expression is allowed: `A OR B` needs one side, `A AND B` both; parentheses
 * group. A `WITH` exception is judged by its license.
 */
export function licenseAllowed(expression: string, allowed: readonly string[] = ALLOWED_LICENSES): boolean {
  const tokens = expression.replace(/[()]/g, (p) => ` ${p} `).trim().split(/\s+/);
  let at = 0;
  const primary = (): boolean => {
    const t = tokens[at++];
    if (t === '(') {
      const v = orExpr();
      if (tokens[at++] !== ')') throw new Error(`unbalanced parentheses in "${expression}"`);
      return v;
    }
    if (t === undefined) throw new Error(`incomplete license expression "${expression}"`);
    if (tokens[at] === 'WITH') at += 2;
    return allowed.includes(t.replace(/\+$/, ''));
  };
  const andExpr = (): boolean => {
    let v = primary();
    while (tokens[at] === 'AND') {
      at++;
      v = primary() && v;
    }
    return v;
  };
  const orExpr = (): boolean => {
    let v = andExpr();
    while (tokens[at] === 'OR') {
      at++;
      v = andExpr() || v;
    }
    return v;
  };
  const result = orExpr();
  if (at !== tokens.length) throw new Error(`cannot read license expression "${expression}"`);
  return result;
}

/** The packages a production install has (npm ci --omit=dev), from the lockfile. */
export function runtimePackages(root: string): RuntimePackage[] {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; license?: string; dev?: boolean; link?: boolean }> };
  return Object.entries(lock.packages)
    .filter(([path, p]) => path !== '' && !p.dev && !p.link)
    .map(([path, p]) => ({ name: path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length), version: p.version ?? '?', license: p.license ?? '', path }))
    .sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
}

function licenseText(root: string, pkg: RuntimePackage): string | undefined {
  const dir = join(root, pkg.path);
  if (!existsSync(dir)) return undefined;
  const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying|notice)(\.|$)/i.test(f));
  return file ? readFileSync(join(dir, file), 'utf8').trim() : undefined;
}

export function thirdPartyNotices(root: string, packages: RuntimePackage[]): string {
  const seen = new Set<string>();
  const parts = ['slurmfleet includes the following third-party software, under the licenses shown.\n'];
  for (const pkg of packages) {
    const key = `${pkg.name}@${pkg.version}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const text = licenseText(root, pkg);
    parts.push(`${'-'.repeat(72)}\n${key}  (${pkg.license || 'no license declared'})\n\n${text ?? `(the package ships no license file; its license is ${pkg.license})`}\n`);
  }
  return parts.join('\n');
}

export function disallowed(packages: RuntimePackage[]): string[] {
  return packages
    .filter((p) => {
      try {
        return p.license === '' || !licenseAllowed(p.license);
      } catch {
        return true;
      }
    })
    .map((p) => `${p.name}@${p.version}: ${p.license || 'no license declared'}`);
}

function main(): void {
  const root = process.cwd();
  const packages = runtimePackages(root);
  const bad = disallowed(packages);
  const at = process.argv.indexOf('--notices');
  if (at > 0 && process.argv[at + 1]) writeFileSync(process.argv[at + 1], thirdPartyNotices(root, packages));
  if (bad.length > 0) {
    process.stderr.write(`licenses outside the allow-list (${ALLOWED_LICENSES.join(', ')}):\n${bad.map((b) => `  ${b}`).join('\n')}\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`${packages.length} runtime packages, all under allowed licenses\n`);
}

if (/licenses\.m?js$/.test(process.argv[1] ?? '')) main();
