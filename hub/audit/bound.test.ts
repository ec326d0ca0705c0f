import { describe, expect, it } from 'vitest';
import { boundEvent, boundRequest, capField, MAX_FIELD_CHARS, MAX_REQUEST_BYTES } from './bound.js';

describe('audit bounds', () => {
  it('keeps short fields and cuts long ones to a prefix and a hash of the whole', () => {
    expect(capField('job a/1')).toBe('job a/1');
    const long = 'x'.repeat(32 * 1024 * 1024);
    const cut = capField(long);
    expect(cut.length).toBeLessThanOrEqual(MAX_FIELD_CHARS);
    expect(cut).toMatch(/^x+…\[sha256:[0-9a-f]{16} of 33554432 chars\]$/);
    expect(capField(`${long}y`)).not.toBe(cut);
  });

  it('caps every caller-supplied field of an event and summarizes an oversize request body', () => {
    const big = 'z'.repeat(100_000);
    const e = boundEvent({ action: big, resource: big, reason: big, user: big, source_ip: big, request_id: big, outcome: 'denied', tenant: { cluster: big, account: big } });
    expect(JSON.stringify(e).length).toBeLessThan(4096);
    const body = boundRequest({ note: big });
    expect(JSON.stringify(body).length).toBeLessThan(MAX_REQUEST_BYTES);
    expect(body).toMatchObject({ truncated: true, keys: ['note'] });
    expect(boundRequest({ a: 1 })).toEqual({ a: 1 });
  });
});
