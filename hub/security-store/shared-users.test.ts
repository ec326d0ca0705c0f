import { describe, expect, it } from 'vitest';
import type { LocalUser, WebauthnCredential } from '../login/index.js';
import { applyFileEdit, mergeCredentials } from './shared-users.js';

const key = (id: string, counter: number, last_used_at?: string): WebauthnCredential => ({ id, public_key: 'pk', counter, transports: [], name: id, created_at: '2026-01-01T00:00:00.000Z', ...(last_used_at ? { last_used_at } : {}) });
const user = (fields: Partial<LocalUser>): LocalUser => ({ name: 'alice', groups: [], created_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z', ...fields });

describe('a users.json edit taken into the hub group', () => {
  it('changes only the fields the operator edited: a stale file does not undo a password set on another hub', () => {
    const wroteToFile = user({ password_hash: 'old', groups: ['ops'] });
    const group = user({ password_hash: 'set on hub B', groups: ['ops'], updated_at: '2026-02-01T00:00:00.000Z' });
    const edited = user({ password_hash: 'old', groups: ['ops'], totp_secret: 'JBSWY3DPEHPK3PXP', updated_at: '2026-03-01T00:00:00.000Z' });
    expect(applyFileEdit(group, edited, wroteToFile)).toEqual({ ...group, totp_secret: 'JBSWY3DPEHPK3PXP', updated_at: '2026-03-01T00:00:00.000Z' });
  });

  it('removes a field the operator removed (passwd --no-totp), and takes a whole record the group does not have', () => {
    const wrote = user({ password_hash: 'h', totp_secret: 'S' });
    expect(applyFileEdit(wrote, user({ password_hash: 'h' }), wrote)).not.toHaveProperty('totp_secret');
    const fresh = user({ name: 'bob', password_hash: 'h' });
    expect(applyFileEdit(undefined, fresh, undefined)).toBe(fresh);
  });

  it('merges WebAuthn credentials by id; a counter never goes back', () => {
    const group = [key('k1', 10, '2026-02-01T00:00:00.000Z'), key('k2', 3)];
    const file = [key('k1', 7), key('k2', 5, '2026-03-01T00:00:00.000Z'), key('k3', 0)];
    expect(mergeCredentials(group, file)).toEqual([key('k1', 10, '2026-02-01T00:00:00.000Z'), key('k2', 5, '2026-03-01T00:00:00.000Z'), key('k3', 0)]);
    // A counter accepted on this hub while the store was away reaches the group's record.
    const wrote = user({ webauthn: [key('k1', 4)] });
    expect(applyFileEdit(user({ webauthn: [key('k1', 4)] }), user({ webauthn: [key('k1', 6)], updated_at: '2026-04-01T00:00:00.000Z' }), wrote).webauthn).toEqual([key('k1', 6)]);
  });
});
