import { describe, expect, it } from 'vitest';
import { escapeDnValue, escapeFilterValue, isAcceptableLoginName } from './escape.js';

describe('LDAP escaping', () => {
  it('escapes the filter metacharacters of RFC 4515 so a name cannot widen or extend the filter', () => {
    expect(escapeFilterValue('*')).toBe('\\2a');
    expect(escapeFilterValue(')(uid=*')).toBe('\\29\\28uid=\\2a');
    expect(escapeFilterValue('a\\b')).toBe('a\\5cb');
    expect(escapeFilterValue('a\0b')).toBe('a\\00b');
    expect(escapeFilterValue('alice')).toBe('alice');
    expect(escapeFilterValue('jürgen')).toBe('jürgen');
  });

  it('escapes DN values per RFC 4514', () => {
    expect(escapeDnValue('comma,user')).toBe('comma\\,user');
    expect(escapeDnValue('a+b;c<d>e"f\\g')).toBe('a\\+b\\;c\\<d\\>e\\"f\\\\g');
    expect(escapeDnValue('#lead')).toBe('\\#lead');
    expect(escapeDnValue(' lead and trail ')).toBe('\\ lead and trail\\ ');
    expect(escapeDnValue('x\0y')).toBe('x\\00y');
    expect(escapeDnValue('uid=admin,dc=x')).toBe('uid=admin\\,dc=x');
  });

  it('refuses control characters, padding and oversize names before any directory sees them', () => {
    expect(isAcceptableLoginName('alice')).toBe(true);
    expect(isAcceptableLoginName('a\0')).toBe(false);
    expect(isAcceptableLoginName('a\nb')).toBe(false);
    expect(isAcceptableLoginName(' alice')).toBe(false);
    expect(isAcceptableLoginName('')).toBe(false);
    expect(isAcceptableLoginName('x'.repeat(257))).toBe(false);
  });
});
