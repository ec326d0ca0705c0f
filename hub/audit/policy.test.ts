import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/logging/index.js';
import { AuditLog } from './audit-log.js';
import { auditConfigSchema } from './config.js';
import { levelFor } from './policy.js';
import { redact, REDACTED } from './redact.js';

describe('audit levels', () => {
  const defaults = auditConfigSchema.parse({});

  it('by default records mutations and audit reads at Metadata and skips other reads', () => {
    expect(levelFor(defaults, { action: 'jobs:cancel' })).toBe('Metadata');
    expect(levelFor(defaults, { action: 'audit:read' })).toBe('Metadata');
    expect(levelFor(defaults, { action: 'jobs:read' })).toBe('None');
  });

  it('never lets a rule silence a required event (a denied read, a failed login, a mutation)', () => {
    const quiet = auditConfigSchema.parse({ level: 'None', rules: [{ level: 'None', actions: ['*'] }] });
    expect(levelFor(quiet, { action: 'jobs:read' })).toBe('None');
    expect(levelFor(quiet, { action: 'jobs:read', required: true })).toBe('Metadata');
  });

  it('takes the first matching rule by action, resource and user', () => {
    const policy = auditConfigSchema.parse({
      level: 'Metadata',
      rules: [
        { level: 'Request', actions: ['nodes:*'], resources: ['node prod-a/*'] },
        { level: 'Request', users: ['ops-*'] },
        { level: 'None', actions: ['*:read'] },
      ],
    });
    expect(levelFor(policy, { action: 'nodes:drain', resource: 'node prod-a/n1' })).toBe('Request');
    expect(levelFor(policy, { action: 'nodes:drain', resource: 'node prod-b/n1' })).toBe('Metadata');
    expect(levelFor(policy, { action: 'jobs:read', user: 'ops-amy' })).toBe('Request');
    expect(levelFor(policy, { action: 'jobs:read', user: 'bob' })).toBe('None');
  });

  it('refuses rules that match nothing and bad levels, naming the key', () => {
    expect(auditConfigSchema.safeParse({ rules: [{ level: 'Request' }] }).error?.issues[0].message).toMatch(/needs actions, resources or users/);
    expect(auditConfigSchema.safeParse({ level: 'Everything' }).error?.issues[0].path).toEqual(['level']);
    expect(auditConfigSchema.safeParse({ retention_days: 0 }).error?.issues[0].path).toEqual(['retention_days']);
    expect(auditConfigSchema.safeParse({ ship: { elasticsearch: { url: 'http://es:9200', username: 'u' } } }).error?.issues[0].message).toMatch(/needs password_env or password_file/);
    expect(auditConfigSchema.safeParse({ ship: { elasticsearch: { url: 'http://es:9200', api_key_env: 'K', username: 'u', password_env: 'P' } } }).error?.issues[0].message).toMatch(/not both/);
  });
});

describe('redaction', () => {
  it('replaces secrets by key and by shape, at any depth', () => {
    const out = redact({
      username: 'alice',
      password: 'hunter2',
      totp_code: '123456',
      code: '654321',
      nested: { client_secret: 'abc', api_key: 'k', list: [{ refresh_token: 'r' }], note: 'Bearer sft_abcdef', jwt: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.' },
      reason: 'maintenance',
    });
    expect(out).toEqual({
      username: 'alice',
      password: REDACTED,
      totp_code: REDACTED,
      code: REDACTED,
      nested: { client_secret: REDACTED, api_key: REDACTED, list: [{ refresh_token: REDACTED }], note: REDACTED, jwt: REDACTED },
      reason: 'maintenance',
    });
  });

  it('cuts long values', () => {
    expect(String(redact('x'.repeat(5000)))).toMatch(/^x{1024}…\[3976 more chars\]$/);
  });

  it('keeps the request only at level Request, redacted', async () => {
    const dir = mkdtempSync(join(tmpdir(), `audit-${process.pid}-`));
    const log = new AuditLog(auditConfigSchema.parse({ dir, rules: [{ level: 'Request', actions: ['auth:*'] }] }), { hubId: 'h', dataDir: dir, logger: silentLogger() });
    await log.open();
    const request = { method: 'POST', path: '/api/v1/auth/login', body: { username: 'alice', password: 'hunter2', totp: '123456' } };
    const login = await log.record({ action: 'auth:login', outcome: 'failed', status: 401, user: 'alice', request, required: true });
    const cancel = await log.record({ action: 'jobs:cancel', outcome: 'success', request: { body: { reason: 'x' } }, required: true });
    expect(login).toMatchObject({ level: 'Request', request: { body: { username: 'alice', password: REDACTED, totp: REDACTED } } });
    expect(cancel!.level).toBe('Metadata');
    expect(cancel!.request).toBeUndefined();
    await log.close();
  });
});

describe('audit query', () => {
  it('filters and pages by cursor, oldest first', async () => {
    const dir = mkdtempSync(join(tmpdir(), `audit-${process.pid}-`));
    let now = Date.parse('2026-01-01T00:00:00Z');
    const log = new AuditLog(auditConfigSchema.parse({ dir }), { hubId: 'h', dataDir: dir, logger: silentLogger(), now: () => now });
    await log.open();
    for (let i = 0; i < 10; i++) {
      await log.record({ action: i % 2 ? 'jobs:cancel' : 'nodes:drain', outcome: i % 3 ? 'success' : 'denied', user: i < 5 ? 'alice' : 'bob', required: true });
      now += 12 * 3_600_000;
    }
    expect(log.query({ user: 'bob', limit: 100 }).items.map((r) => r.seq)).toEqual([6, 7, 8, 9, 10]);
    expect(log.query({ action: 'jobs:*', outcome: 'denied', limit: 100 }).items.map((r) => r.seq)).toEqual([4, 10]);
    expect(log.query({ since: Date.parse('2026-01-03T00:00:00Z'), until: Date.parse('2026-01-04T00:00:00Z'), limit: 100 }).items.map((r) => r.seq)).toEqual([5, 6]);
    const first = log.query({ limit: 4 });
    expect(first.items.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect(first.next_cursor).toBe('4');
    const second = log.query({ limit: 4, cursor: 4 });
    expect(second.items.map((r) => r.seq)).toEqual([5, 6, 7, 8]);
    const last = log.query({ limit: 4, cursor: 8 });
    expect(last).toMatchObject({ next_cursor: null });
    expect(last.items.map((r) => r.seq)).toEqual([9, 10]);
    await log.close();
  });
});
