import { describe, expect, it } from 'vitest';
import { disallowed, licenseAllowed, runtimePackages, thirdPartyNotices } from './licenses.js';

describe('release licenses', () => {
  it('reads SPDX expressions: OR needs one allowed side, AND both', () => {
    expect(licenseAllowed('MIT')).toBe(true);
    expect(licenseAllowed('(MIT OR GPL-3.0-only)')).toBe(true);
    expect(licenseAllowed('(Apache-2.0 AND BSD-3-Clause)')).toBe(true);
    expect(licenseAllowed('MIT AND GPL-3.0-only')).toBe(false);
    expect(licenseAllowed('GPL-2.0-only WITH Classpath-exception-2.0')).toBe(false);
    expect(licenseAllowed('Apache-2.0 WITH LLVM-exception')).toBe(true);
    expect(licenseAllowed('AGPL-3.0-or-later')).toBe(false);
    expect(() => licenseAllowed('(MIT')).toThrow(/unbalanced|incomplete/);
  });

  it('the runtime dependencies of this checkout are all allowed, and a GPL one would be named', () => {
    const packages = runtimePackages(process.cwd());
    expect(packages.map((p) => p.name)).toEqual(expect.arrayContaining(['fastify', '@grpc/grpc-js', 'zod']));
    expect(packages.map((p) => p.name)).not.toContain('vitest');
    expect(disallowed(packages)).toEqual([]);
    expect(disallowed([...packages, { name: 'copyleft', version: '1.0.0', license: 'GPL-3.0-only', path: 'node_modules/copyleft' }, { name: 'silent', version: '2.0.0', license: '', path: 'node_modules/silent' }])).toEqual(['copyleft@1.0.0: GPL-3.0-only', 'silent@2.0.0: no license declared']);
  });

  it('the notices carry each package with its license text', () => {
    const notices = thirdPartyNotices(process.cwd(), runtimePackages(process.cwd()).filter((p) => p.name === 'fastify'));
    expect(notices).toMatch(/fastify@\d+\.\d+\.\d+ {2}\(MIT\)/);
    expect(notices).toMatch(/Permission is hereby granted/);
  });
});
