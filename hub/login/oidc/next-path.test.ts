import { describe, expect, it } from 'vitest';
import { nextFromQuery, safeNextPath } from './next-path.js';

describe('next= after a browser login', () => {
  it('keeps a path of this hub with its query and fragment', () => {
    for (const p of ['/', '/jobs', '/jobs?state=PENDING&user=alice', '/jobs/prod-a/42#timeline', '/alerts?cluster=a%2Fb']) expect(safeNextPath(p)).toBe(p);
  });

  it('refuses everything a browser would take to another site, and what is no path', () => {
    const bad = ['https://evil.example/', '//evil.example/x', '/\\evil.example', '/\\/evil.example', '\\\\evil.example', 'javascript:alert(1)', 'jobs', ' /jobs', '/jobs\n', '/a\tb', '/x y', `/${'a'.repeat(2048)}`, ''];
    for (const p of bad) expect(safeNextPath(p), JSON.stringify(p)).toBeUndefined();
  });

  it('a bad next in the login query is a clear 400, an absent one is no error', () => {
    expect(nextFromQuery(undefined)).toBeUndefined();
    expect(nextFromQuery('')).toBeUndefined();
    expect(() => nextFromQuery('//evil.example')).toThrow(expect.objectContaining({ code: 'SF_API_BAD_REQUEST', message: expect.stringContaining('next must be a path of this hub') }));
  });
});
