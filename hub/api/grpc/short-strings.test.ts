import { describe, expect, it } from 'vitest';
import { longStringField } from './short-strings.js';

describe('short string fields of gRPC requests', () => {
  it('names the first field over the limit, nested and in lists, counting UTF-8 bytes', () => {
    expect(longStringField({ cluster: 'prod', reason: 'r'.repeat(64) }, 64)).toBeUndefined();
    expect(longStringField({ cluster: 'prod', reason: 'r'.repeat(65) }, 64)).toBe('reason');
    // 44 characters, 66 bytes.
    expect(longStringField({ target: 'é'.repeat(11) + 'ü'.repeat(11) + 'x'.repeat(22) }, 64)).toBe('target');
    expect(longStringField({ filter: { users: ['a', 'b'.repeat(100)] } }, 64)).toBe('filter.users.1');
    expect(longStringField({ n: 5, flag: true, none: null }, 64)).toBeUndefined();
  });
});
