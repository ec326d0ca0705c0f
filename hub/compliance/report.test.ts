import { appendFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../shared/config/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { AuditLog } from '../audit/index.js';
import { hubConfigSchema } from '../config/index.js';
import { effectiveAudit } from './presets.js';
import { complianceReport, type ReportInputs } from './report.js';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const DAY = 86_400_000;
const logs: AuditLog[] = [];
afterEach(async () => {
  for (const l of logs.splice(0)) await l.close();
});

/** The report's inputs for a hub configured by `yaml`, over a real audit log. */
async function inputsFor(yaml: string, extra: Partial<ReportInputs> = {}) {
  const dir = mkdtempSync(join(tmpdir(), `report-${process.pid}-`));
  const config = parseConfigText(hubConfigSchema, `tls: { ca: a, cert: b, key: c }\n${yaml}`, 'hub.yaml');
  const audited = effectiveAudit({ ...config.audit, dir }, config.compliance);
  const audit = new AuditLog(audited.config, { hubId: 'hub-1', dataDir: dir, logger: silentLogger(), now: () => NOW, floors: audited.floors, checkIntervalMs: 3_600_000 });
  await audit.open();
  logs.push(audit);
  await audit.record({ action: 'jobs:cancel', resource: 'job a/1', outcome: 'success', user: 'alice', required: true });
  const inputs: ReportInputs = {
    hubId: 'hub-1', now: NOW, compliance: config.compliance, audit: audit.config, auditFloors: audited.floors,
    verify: () => audit.verify(), query: (q) => audit.query(q),
    encryptionAtRest: { enabled: false }, mfa: config.auth.mfa, pseudonymKey: false,
    ...(config.rbac ? { rbac: { bindings: config.rbac.bindings, roles: Object.keys(config.rbac.roles) } } : {}),
    ...extra,
  };
  return { inputs, audit, dir };
}

const status = (r: Awaited<ReturnType<typeof complianceReport>>) => Object.fromEntries(r.controls.map((c) => [c.id, c.status]));

describe('sfleet compliance report: the evidence of each control', () => {
  it('a bare hub: the chain verifies, the rest fails with what is missing, and everyone is admin', async () => {
    const { inputs } = await inputsFor('');
    const r = await complianceReport(inputs);
    expect(r.frameworks).toEqual(['sox', 'gdpr', 'hipaa', 'soc2']);
    expect(status(r)).toEqual({
      'audit.chain': 'pass', 'audit.retention': 'pass', 'audit.job_data_reads': 'fail', 'audit.shipping': 'fail', 'encryption.at_rest': 'fail',
      'encryption.in_transit': 'pass', 'auth.mfa': 'fail', 'rbac.enabled': 'fail', 'rbac.admins': 'info', 'backup.recent': 'fail', 'gdpr.pseudonyms': 'fail',
    });
    expect(r.controls.find((c) => c.id === 'rbac.admins')?.evidence).toBe('everyone (no rbac section)');
    expect(r.controls.find((c) => c.id === 'audit.chain')?.evidence).toMatch(/^1 records in 1 files verify/);
    expect(r.summary).toEqual({ pass: 3, fail: 7, info: 1 });
  });

  it('the presets and the site settings show as passing, with who holds admin', async () => {
    const { inputs } = await inputsFor(
      'audit: { retention_days: 30, ship: { webhook: { url: "https://siem.example/hook" } } }\n' +
        'compliance: { frameworks: [sox, hipaa], audit: { backend: webhook, fields: [user, action, ip] } }\n' +
        'auth: { mfa: { enabled: true, required_roles: [admin] } }\n' +
        'rbac: { roles: { ops: { permissions: ["jobs:*"] } }, bindings: [{ user: carol, role: admin }, { group: hpc-admins, role: admin }, { user: dave, role: ops }] }\n',
      { encryptionAtRest: { enabled: true, provider: 'vault' }, backups: async () => ({ newest: new Date(NOW - DAY).toISOString(), errors: [] }) },
    );
    const r = await complianceReport(inputs);
    expect(r.frameworks).toEqual(['sox', 'hipaa']);
    expect(status(r)).toMatchObject({ 'audit.retention': 'pass', 'audit.job_data_reads': 'pass', 'audit.shipping': 'pass', 'encryption.at_rest': 'pass', 'auth.mfa': 'pass', 'rbac.enabled': 'pass', 'backup.recent': 'pass', 'backup.verified': 'fail' });
    // GDPR's control is not one of these frameworks'.
    expect(status(r)['gdpr.pseudonyms']).toBeUndefined();
    const evidence = Object.fromEntries(r.controls.map((c) => [c.id, c.evidence]));
    expect(evidence['audit.retention']).toBe('audit.retention_days in effect 2555; required 2555 (by sox)');
    expect(evidence['audit.shipping']).toBe('to webhook; fields user,action,source_ip');
    expect(evidence['rbac.admins']).toBe('user carol; group hpc-admins');
    expect(evidence['backup.verified']).toBe('no successful sfleet backup verify in the audit log of the last 7 days');
  });

  it("a backup is recent within two intervals of backup.schedule, 7 days without one", async () => {
    const daily = { backupSchedule: { cron: '0 2 * * *', timezone: 'Europe/Berlin' } };
    const fresh = await inputsFor('compliance: { frameworks: [soc2] }\n', { ...daily, backups: async () => ({ newest: new Date(NOW - 40 * 3_600_000).toISOString(), errors: [] }) });
    const r1 = await complianceReport(fresh.inputs);
    expect(r1.controls.find((c) => c.id === 'backup.recent')).toMatchObject({ title: 'A backup was taken in the last 2 days', status: 'pass', evidence: expect.stringContaining('two intervals of backup.schedule "0 2 * * *"') });
    const stale = await inputsFor('compliance: { frameworks: [soc2] }\n', { ...daily, backups: async () => ({ newest: new Date(NOW - 3 * DAY).toISOString(), errors: [] }) });
    expect((await complianceReport(stale.inputs)).controls.find((c) => c.id === 'backup.recent')?.status).toBe('fail');
    const hourly = await inputsFor('compliance: { frameworks: [soc2] }\n', { backupSchedule: { cron: '15 * * * *' }, backups: async () => ({ newest: new Date(NOW - 3 * 3_600_000).toISOString(), errors: [] }) });
    expect((await complianceReport(hourly.inputs)).controls.find((c) => c.id === 'backup.recent')).toMatchObject({ title: 'A backup was taken in the last 2 hours', status: 'fail' });
    const none = await inputsFor('compliance: { frameworks: [soc2] }\n', { backups: async () => ({ newest: new Date(NOW - 6 * DAY).toISOString(), errors: [] }) });
    expect((await complianceReport(none.inputs)).controls.find((c) => c.id === 'backup.recent')).toMatchObject({ title: 'A backup was taken in the last 7 days', status: 'pass' });
  });

  it('a verified backup in the audit log passes; a stale backup fails; --framework picks one', async () => {
    const { inputs, audit } = await inputsFor('compliance: { frameworks: [soc2] }\n', { backups: async () => ({ newest: new Date(NOW - 9 * DAY).toISOString(), errors: [] }) });
    await audit.record({ action: 'backup:verify', resource: 'backup latest', outcome: 'success', user: 'carol', required: true });
    const r = await complianceReport(inputs);
    expect(status(r)).toMatchObject({ 'backup.recent': 'fail', 'backup.verified': 'pass' });
    expect(r.controls.find((c) => c.id === 'backup.verified')?.evidence).toBe('verified 2026-12-01T12:00:00.000Z by carol');
    const gdpr = await complianceReport(inputs, 'gdpr');
    expect(gdpr.frameworks).toEqual(['gdpr']);
    expect(gdpr.controls.every((c) => c.frameworks.includes('gdpr'))).toBe(true);
  });

  it('a retention lowered behind the presets and an edited audit file both fail, naming what', async () => {
    const { inputs, dir } = await inputsFor('compliance: { frameworks: [sox] }\n');
    const r = await complianceReport({ ...inputs, audit: { ...inputs.audit, retention_days: 365 } });
    expect(r.controls.find((c) => c.id === 'audit.retention')).toMatchObject({ status: 'fail', evidence: 'audit.retention_days in effect 365; required 2555 (by sox)' });
    const file = readdirSync(join(dir)).find((n) => n.endsWith('.jsonl'))!;
    appendFileSync(join(dir, file), '{"type":"record","seq":99,"user":"mallory","hash":"x"}\n');
    const tampered = await complianceReport(inputs);
    expect(tampered.controls.find((c) => c.id === 'audit.chain')).toMatchObject({ status: 'fail', evidence: expect.stringContaining(file) });
  });
});

describe('sfleet compliance report: second factors as enrolled, not only as configured', () => {
  const users = [
    { name: 'root-breakglass', groups: [], password: true, totp: true, webauthn: 0 },
    { name: 'carol', groups: [], password: false, totp: false, webauthn: 1 },
    { name: 'dave', groups: ['hpc-admins'], password: false, totp: false, webauthn: 0 },
    { name: 'erin', groups: [], password: true, totp: false, webauthn: 0, mfa_exempt: { by: 'carol', at: '2026-11-30T10:00:00.000Z', reason: 'lost phone' } },
    { name: 'frank', groups: [], password: false, totp: false, webauthn: 0 },
  ];
  const rolesOf = (name: string, groups: string[]) => (name === 'carol' || groups.includes('hpc-admins') ? ['admin'] : ['viewer']);
  const enrolled = async (yaml: string) => (await complianceReport((await inputsFor(yaml, { localUsers: () => users, rolesOf })).inputs)).controls.find((c) => c.id === 'auth.mfa.enrolled');

  it('fails naming the users a login would ask for a factor who have none, and shows who is exempt', async () => {
    const c = await enrolled('auth: { mfa: { enabled: true, required_roles: [admin], required_for_local: true } }\n');
    // Must: the two local-password users (required_for_local) and the two admins; dave has nothing.
    expect(c).toMatchObject({ status: 'fail', frameworks: ['sox', 'hipaa', 'soc2'] });
    expect(c?.evidence).toBe('4 local users must give a second factor, 2 have one enrolled; not enrolled (their logins are refused until they enrol): dave, erin; exempt from an enrolled factor: erin (by carol at 2026-11-30T10:00:00.000Z: lost phone)');
  });

  it('passes when everyone who must has a factor; is only evidence while auth.mfa is off', async () => {
    expect(await enrolled('auth: { mfa: { enabled: true, required_roles: [viewer] } }\n')).toMatchObject({ status: 'fail', evidence: expect.stringContaining('not enrolled (their logins are refused until they enrol): erin, frank') });
    expect(await enrolled('auth: { mfa: { enabled: true, required_groups: [nobody] } }\n')).toMatchObject({ status: 'pass', evidence: '0 local users must give a second factor, 0 have one enrolled; exempt from an enrolled factor: erin (by carol at 2026-11-30T10:00:00.000Z: lost phone)' });
    expect(await enrolled('')).toMatchObject({ status: 'info', evidence: expect.stringMatching(/^auth\.mfa is off; 2 of 5 local users have a factor enrolled/) });
  });
});
