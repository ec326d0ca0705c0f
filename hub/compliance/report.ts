// `sfleet compliance report`: the state of each control, with its evidence, read from what the
// hub runs with (effective settings, not the file's wishes) and from the audit log itself.
// A control is pass, fail, or info (evidence without a verdict, such as who holds admin).
import type { AuditConfig, AuditQuery, AuditRecord, VerifyResult } from '../audit/index.js';
import type { AuditRule } from '../audit/index.js';
import { FRAMEWORKS, type ComplianceConfig, type Framework } from './config.js';
import { Cron } from 'croner';
import { JOB_DATA_READS, requiredRetentionDays } from './presets.js';

export type ControlStatus = 'pass' | 'fail' | 'info';

export interface Control {
  id: string;
  title: string;
  frameworks: Framework[];
  status: ControlStatus;
  evidence: string;
}

export interface ComplianceReport {
  generated_at: string;
  hub_id: string;
  frameworks: Framework[];
  summary: { pass: number; fail: number; info: number };
  controls: Control[];
}

/** What the report reads; each a fact of the running hub. */
export interface ReportInputs {
  hubId: string;
  now: number;
  compliance?: ComplianceConfig;
  /** The audit settings in effect (after the presets). */
  audit: AuditConfig;
  auditFloors: readonly AuditRule[];
  verify: () => VerifyResult;
  query: (q: AuditQuery) => { items: AuditRecord[] };
  encryptionAtRest: { enabled: boolean; provider?: string };
  tlsCipherSuites?: readonly string[];
  mfa: { enabled: boolean; required_roles: string[]; required_groups: string[]; required_for_local: boolean };
  /** Absent: no rbac section, every authenticated caller is an admin. */
  rbac?: { bindings: { user?: string; group?: string; client?: string; service?: string; role: string }[]; roles: string[] };
  /** Absent: no backup section. */
  backups?: () => Promise<{ newest?: string; errors: string[] }>;
  /** backup.schedule and its time zone: a backup is recent within two scheduled intervals. */
  backupSchedule?: { cron: string; timezone?: string };
  pseudonymKey: boolean;
  /** The local users (break-glass accounts and the enrolment records of directory users). */
  localUsers?: () => readonly LocalUserFacts[];
  /** A user's RBAC roles by name and groups, as a login binds them. */
  rolesOf?: (name: string, groups: string[]) => string[];
}

export interface LocalUserFacts {
  name: string;
  groups: string[];
  /** Has a password: a local (break-glass) login. */
  password: boolean;
  totp: boolean;
  webauthn: number;
  mfa_exempt?: { by: string; at: string; reason: string };
}

const ALL: Framework[] = [...FRAMEWORKS];
const DAY = 86_400_000;

function latest(inputs: ReportInputs, action: string): AuditRecord | undefined {
  // Newest first is not how the log pages: read the last week's records of that action.
  const items = inputs.query({ action, outcome: 'success', since: inputs.now - 7 * DAY, limit: 5000 }).items;
  return items.at(-1);
}

export async function complianceReport(inputs: ReportInputs, only?: Framework): Promise<ComplianceReport> {
  const controls: Control[] = [];
  const add = (c: Control): void => void controls.push(c);

  const chain = inputs.verify();
  add({
    id: 'audit.chain', title: 'The audit log is complete and untampered (hash chain verifies)', frameworks: ALL,
    status: chain.ok ? 'pass' : 'fail',
    evidence: chain.ok ? `${chain.records} records in ${chain.files} files verify (${chain.starts})` : `${chain.file} line ${chain.line}: ${chain.reason}`,
  });
  const need = requiredRetentionDays(inputs.compliance) ?? { days: 0, by: 'nothing' };
  add({
    id: 'audit.retention', title: 'Audit records are kept as long as required', frameworks: ['sox', 'soc2'],
    status: inputs.audit.retention_days >= need.days ? 'pass' : 'fail',
    evidence: `audit.retention_days in effect ${inputs.audit.retention_days}; required ${need.days || 'none'}${need.days ? ` (by ${need.by})` : ''}`,
  });
  const hipaaReads = inputs.auditFloors.some((f) => f.level !== 'None' && JOB_DATA_READS.every((a) => f.actions?.includes(a)));
  add({
    id: 'audit.job_data_reads', title: 'Every read of job data is audited', frameworks: ['hipaa'],
    status: hipaaReads ? 'pass' : 'fail',
    evidence: hipaaReads ? `recorded at Metadata at least: ${JOB_DATA_READS.join(', ')}` : 'reads follow audit.rules only (add hipaa to compliance.frameworks)',
  });
  add({
    id: 'audit.shipping', title: 'Audit records are copied off the host', frameworks: ['sox', 'soc2'],
    status: inputs.audit.ship && (inputs.audit.ship.elasticsearch || inputs.audit.ship.webhook) ? 'pass' : 'fail',
    evidence: inputs.audit.ship ? `to ${[inputs.audit.ship.elasticsearch ? 'elasticsearch' : '', inputs.audit.ship.webhook ? 'webhook' : ''].filter(Boolean).join(' and ')}; fields ${inputs.audit.ship.fields?.join(',') ?? 'all'}` : 'no audit.ship destination: only the local files',
  });
  add({
    id: 'encryption.at_rest', title: 'Data at rest is encrypted (AES-256-GCM)', frameworks: ALL,
    status: inputs.encryptionAtRest.enabled ? 'pass' : 'fail',
    evidence: inputs.encryptionAtRest.enabled ? `on, key provider ${inputs.encryptionAtRest.provider}` : 'off (encryption.enabled or security.encryption.data_at_rest)',
  });
  add({
    id: 'encryption.in_transit', title: 'TLS 1.3 only on every listener and client', frameworks: ALL, status: 'pass',
    evidence: `TLS 1.3 is the only version the hub speaks; suites ${inputs.tlsCipherSuites?.join(', ') ?? "OpenSSL's TLS 1.3 defaults"}`,
  });
  const mfa = inputs.mfa;
  const mfaRequired = mfa.enabled && (mfa.required_roles.length > 0 || mfa.required_groups.length > 0 || mfa.required_for_local);
  add({
    id: 'auth.mfa', title: 'A second factor is enforced for privileged logins', frameworks: ['sox', 'hipaa', 'soc2'],
    status: mfaRequired ? 'pass' : 'fail',
    evidence: mfaRequired ? `required for roles [${mfa.required_roles.join(', ')}], groups [${mfa.required_groups.join(', ')}]${mfa.required_for_local ? ', local users' : ''}` : 'auth.mfa is off or requires it of nobody',
  });
  if (inputs.localUsers) add(mfaEnrolment(inputs.localUsers(), mfa, inputs.rolesOf));
  const admins = inputs.rbac?.bindings.filter((b) => b.role === 'admin').map((b) => `${b.user ? 'user' : b.group ? 'group' : b.client ? 'client' : 'service'} ${b.user ?? b.group ?? b.client ?? b.service}`) ?? [];
  add({
    id: 'rbac.enabled', title: 'Access is role-based (least privilege)', frameworks: ALL,
    status: inputs.rbac ? 'pass' : 'fail',
    evidence: inputs.rbac ? `roles: ${inputs.rbac.roles.join(', ')}; ${inputs.rbac.bindings.length} bindings` : 'no rbac section: every authenticated caller is an admin',
  });
  add({ id: 'rbac.admins', title: 'Who holds admin', frameworks: ALL, status: 'info', evidence: inputs.rbac ? admins.join('; ') || 'nobody is bound to admin' : 'everyone (no rbac section)' });
  const window = recentBackupWindow(inputs);
  if (inputs.backups) {
    const { newest, errors } = await inputs.backups();
    const age = newest ? inputs.now - Date.parse(newest) : Infinity;
    const recent = age <= window.ms;
    add({
      id: 'backup.recent', title: `A backup was taken in the last ${window.text}`, frameworks: ['sox', 'hipaa', 'soc2'],
      status: recent && errors.length === 0 ? 'pass' : 'fail',
      evidence: `${newest ? `newest ${newest}` : 'no backup'} (${window.why})${errors.length ? `; ${errors.join('; ')}` : ''}`,
    });
    const verified = latest(inputs, 'backup:verify');
    add({
      id: 'backup.verified', title: 'A backup was verified in the last 7 days', frameworks: ['sox', 'hipaa', 'soc2'],
      status: verified ? 'pass' : 'fail',
      evidence: verified ? `verified ${verified.timestamp} by ${verified.user ?? 'the hub'}` : 'no successful sfleet backup verify in the audit log of the last 7 days',
    });
  } else {
    add({ id: 'backup.recent', title: `A backup was taken in the last ${window.text}`, frameworks: ['sox', 'hipaa', 'soc2'], status: 'fail', evidence: 'no backup section' });
  }
  add({
    id: 'gdpr.pseudonyms', title: 'Exports can be pseudonymised (keyed HMAC)', frameworks: ['gdpr'],
    status: inputs.pseudonymKey ? 'pass' : 'fail',
    evidence: inputs.pseudonymKey ? 'compliance.gdpr pseudonym key loaded' : 'no compliance.gdpr.pseudonym_key_env or pseudonym_key_file',
  });

  const frameworks = only ? [only] : (inputs.compliance?.frameworks.length ? inputs.compliance.frameworks : ALL);
  const shown = controls.filter((c) => c.frameworks.some((f) => frameworks.includes(f)));
  const count = (s: ControlStatus): number => shown.filter((c) => c.status === s).length;
  return { generated_at: new Date(inputs.now).toISOString(), hub_id: inputs.hubId, frameworks, summary: { pass: count('pass'), fail: count('fail'), info: count('info') }, controls: shown };
}

/**
 * How old the newest backup may be: two intervals of backup.schedule (one run may fail and be
 * retried by the next), the interval being that between its next two runs; 7 days without a
 * schedule (on demand only).
 */
function recentBackupWindow(inputs: ReportInputs): { ms: number; text: string; why: string } {
  const schedule = inputs.backupSchedule;
  if (!schedule) return { ms: 7 * DAY, text: '7 days', why: 'no backup.schedule: 7 days' };
  const cron = new Cron(schedule.cron, { paused: true, ...(schedule.timezone ? { timezone: schedule.timezone } : {}) });
  const [a, b] = cron.nextRuns(2, new Date(inputs.now)).map((d) => d.getTime());
  const ms = a !== undefined && b !== undefined ? 2 * (b - a) : 7 * DAY;
  const hours = Math.round(ms / 3_600_000);
  const text = hours >= 24 && hours % 24 === 0 ? `${hours / 24} day${hours === 24 ? '' : 's'}` : hours >= 1 ? `${hours} hour${hours === 1 ? '' : 's'}` : `${Math.round(ms / 60_000)} minutes`;
  return { ms, text, why: `two intervals of backup.schedule "${schedule.cron}"` };
}

/**
 * auth.mfa.enrolled: every local user a login would ask for a second factor has one. Such a user
 * without one cannot log in at all (the login is refused), so the control fails naming them; an
 * exemption (sfleet user mfa-exempt) is shown as evidence, as auditors ask who may skip it.
 */
function mfaEnrolment(users: readonly LocalUserFacts[], mfa: ReportInputs['mfa'], rolesOf: ReportInputs['rolesOf']): Control {
  const base = { id: 'auth.mfa.enrolled', title: 'Every user who must give a second factor has one enrolled', frameworks: ['sox', 'hipaa', 'soc2'] as Framework[] };
  const must = users.filter((u) => {
    if (!mfa.enabled) return false;
    if (mfa.required_for_local && u.password) return true;
    if (u.groups.some((g) => mfa.required_groups.includes(g))) return true;
    // Without a way to learn roles every login gives a factor (as the login does).
    if (mfa.required_roles.length > 0) return !rolesOf || rolesOf(u.name, u.groups).some((r) => mfa.required_roles.includes(r));
    return false;
  });
  const enrolled = (u: LocalUserFacts): boolean => u.totp || u.webauthn > 0;
  const missing = must.filter((u) => !enrolled(u)).map((u) => u.name);
  const exempt = users.filter((u) => u.mfa_exempt).map((u) => `${u.name} (by ${u.mfa_exempt!.by} at ${u.mfa_exempt!.at}: ${u.mfa_exempt!.reason})`);
  const exemptText = exempt.length ? `; exempt from an enrolled factor: ${exempt.join(', ')}` : '';
  if (!mfa.enabled) return { ...base, status: 'info', evidence: `auth.mfa is off; ${users.filter(enrolled).length} of ${users.length} local users have a factor enrolled${exemptText}` };
  return {
    ...base,
    status: missing.length ? 'fail' : 'pass',
    evidence: `${must.length} local users must give a second factor, ${must.length - missing.length} have one enrolled${missing.length ? `; not enrolled (their logins are refused until they enrol): ${missing.join(', ')}` : ''}${exemptText}`,
  };
}
