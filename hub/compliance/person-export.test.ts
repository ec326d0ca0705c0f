import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/logging/index.js';
import { AuditLog, auditConfigSchema } from '../audit/index.js';
import { TokenStore } from '../policy/index.js';
import { complianceConfigSchema } from './config.js';
import { PseudonymKeyMissingError } from './errors.js';
import { exportPerson } from './person-export.js';
import { Pseudonymizer, pseudonymizerFrom, requirePseudonymizer } from './pseudonym.js';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const logs: AuditLog[] = [];
afterEach(async () => {
  for (const l of logs.splice(0)) await l.close();
});

/** A hub's audit log and token file holding alice's and bob's doings. */
async function held() {
  const dir = mkdtempSync(join(tmpdir(), `person-${process.pid}-`));
  const audit = new AuditLog(auditConfigSchema.parse({ dir: join(dir, 'audit') }), { hubId: 'hub-1', dataDir: dir, logger: silentLogger(), now: () => NOW, checkIntervalMs: 3_600_000 });
  await audit.open();
  logs.push(audit);
  const ev = (user: string, action: string, resource: string, outcome: 'success' | 'failed' = 'success') => audit.record({ action, resource, outcome, user, auth_method: 'ldap', source_ip: '10.1.2.3', transport: 'http', required: true });
  await ev('alice', 'auth:login', 'user alice');
  await ev('alice', 'auth:login', 'user alice', 'failed');
  await ev('alice', 'jobs:cancel', 'job prod-a/17');
  await ev('alice', 'alerts:ack', 'alert 4f2a');
  await ev('bob', 'jobs:cancel', 'job prod-a/18');
  await ev('bob', 'tokens:create', 'token alice-ci');
  const tokens = new TokenStore(join(dir, 'tokens'));
  tokens.create('alice-ci', undefined, { created_by: 'alice' });
  tokens.create('alice', undefined, { created_by: 'bob' });
  tokens.create('bob-ci', undefined, { created_by: 'bob' });
  return { audit, tokens };
}

describe('sfleet export --user: everything held about a person', () => {
  it("holds alice's audit records, logins, acks and tokens, and nothing of bob's own doings", async () => {
    const { audit, tokens } = await held();
    const out = await exportPerson({ audit, tokens }, 'alice', { hubId: 'hub-1', now: NOW });
    expect(out).toMatchObject({ subject: 'alice', pseudonymized: false, hub_id: 'hub-1', generated_at: '2026-12-01T12:00:00.000Z', history: { kept: false, jobs: [] }, truncated: [] });
    expect(out.audit_records.map((r) => r.action)).toEqual(['auth:login', 'auth:login', 'jobs:cancel', 'alerts:ack']);
    expect(out.audit_records.every((r) => r.user === 'alice')).toBe(true);
    expect(out.logins).toEqual([
      { at: '2026-12-01T12:00:00.000Z', outcome: 'success', auth_method: 'ldap', source_ip: '10.1.2.3' },
      { at: '2026-12-01T12:00:00.000Z', outcome: 'failed', auth_method: 'ldap', source_ip: '10.1.2.3' },
    ]);
    expect(out.alert_acks).toEqual([{ at: '2026-12-01T12:00:00.000Z', resource: 'alert 4f2a' }]);
    // Her own token and the one named after her; no secrets, only metadata.
    expect(out.tokens.map((t) => t.name).sort()).toEqual(['alice', 'alice-ci']);
    expect(JSON.stringify(out.tokens)).not.toMatch(/"hash"|sft_/);
  });

  it('pseudonymised: no trace of the name, the same pseudonym under one key, another under another key', async () => {
    const { audit, tokens } = await held();
    const key = new Pseudonymizer(Buffer.from('site key one'));
    const out = await exportPerson({ audit, tokens }, 'alice', { hubId: 'hub-1', now: NOW, pseudonymizer: key });
    const text = JSON.stringify(out);
    expect(text).not.toContain('alice');
    const p = key.name('alice');
    expect(p).toMatch(/^u-[0-9a-f]{20}$/);
    expect(out).toMatchObject({ subject: p, pseudonymized: true });
    expect(out.audit_records[0]).toMatchObject({ user: p, resource: `user ${p}` });
    // Other people named in her data are pseudonymised too (bob created the token named after her).
    expect(out.tokens.find((t) => t.name === p)).toMatchObject({ created_by: key.name('bob') });
    expect(text).not.toContain('bob');
    // The token "alice-ci" keeps its suffix: the name is replaced where it stands as a word.
    expect(out.tokens.map((t) => t.name)).toContain(`${p}-ci`);
    const again = await exportPerson({ audit, tokens }, 'alice', { hubId: 'hub-1', now: NOW, pseudonymizer: new Pseudonymizer(Buffer.from('site key one')) });
    expect(again.subject).toBe(p);
    expect(new Pseudonymizer(Buffer.from('another key')).name('alice')).not.toBe(p);
  });

  it('asks for the gdpr framework and its key before it pseudonymises', () => {
    expect(() => requirePseudonymizer(undefined)).toThrow(PseudonymKeyMissingError);
    expect(() => requirePseudonymizer(undefined)).toThrow(/need gdpr in compliance\.frameworks and compliance\.gdpr\.pseudonym_key_env or pseudonym_key_file/);
    const gdpr = complianceConfigSchema.parse({ frameworks: ['gdpr'], gdpr: { pseudonym_key_env: 'SFLEET_PSEUDONYM_KEY' } });
    expect(pseudonymizerFrom(gdpr, { SFLEET_PSEUDONYM_KEY: 'k' })?.name('alice')).toBe(new Pseudonymizer(Buffer.from('k')).name('alice'));
    expect(pseudonymizerFrom(complianceConfigSchema.parse({ frameworks: ['sox'] }), {})).toBeUndefined();
    // A named key that is not there stops the start, naming the variable and not any value.
    expect(() => pseudonymizerFrom(gdpr, {})).toThrow('compliance.gdpr pseudonym key: environment variable SFLEET_PSEUDONYM_KEY is not set');
  });
});
