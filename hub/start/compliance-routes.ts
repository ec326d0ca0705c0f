// The compliance routes' view of the running hub: what the report reads (effective settings,
// the audit log, backups) and where a person's data is held. Wiring only.
import type { FastifyInstance } from 'fastify';
import type { Alerting } from '../alerting/index.js';
import type { AuditLog } from '../audit/index.js';
import type { BackupService } from '../backup/index.js';
import { effectiveAudit, registerComplianceRoutes, type LocalUserFacts, type PseudonymizedUsers, type Pseudonymizer } from '../compliance/index.js';
import type { HubConfig } from '../config/index.js';
import type { HistoryService } from '../history/index.js';
import type { TokenRegistry } from '../policy/index.js';
import { effectiveEncryption } from '../../shared/security/index.js';

export interface ComplianceParts {
  audit: AuditLog;
  history?: HistoryService;
  tokens?: TokenRegistry;
  alerting?: Alerting;
  backups?: BackupService;
  /** pseudonymizerFrom(config.compliance), read once at start. */
  pseudonymizer?: Pseudonymizer;
  /** With the history: the users whose names it no longer holds. */
  pseudonymized?: PseudonymizedUsers;
  /** The local users and their enrolled factors, and the RBAC roles a login would bind (auth.mfa.enrolled). */
  localUsers?: () => readonly LocalUserFacts[];
  rolesOf?: (name: string, groups: string[]) => string[];
}

export function complianceRoutes(config: HubConfig, parts: ComplianceParts): (app: FastifyInstance) => void {
  const pseudonymizer = parts.pseudonymizer;
  const atRest = effectiveEncryption(config.encryption, config.security);
  const rbac = config.rbac;
  const backups = parts.backups;
  return (app) =>
    registerComplianceRoutes(app, {
      hubId: config.hub_id,
      pseudonymizer,
      ...(parts.pseudonymized && parts.history ? { pseudonymizeHistory: { users: parts.pseudonymized, rewrite: parts.history.pseudonymize.bind(parts.history) } } : {}),
      person: { audit: parts.audit, ...(parts.history ? { history: parts.history.store } : {}), ...(parts.tokens ? { tokens: parts.tokens } : {}), ...(parts.alerting ? { alerting: parts.alerting } : {}) },
      report: {
        compliance: config.compliance,
        audit: parts.audit.config,
        auditFloors: effectiveAudit(config.audit, config.compliance).floors,
        verify: () => parts.audit.verify(),
        query: (q) => parts.audit.query(q),
        encryptionAtRest: { enabled: atRest?.enabled ?? false, provider: atRest?.provider },
        tlsCipherSuites: config.security?.encryption.tls?.cipher_suites,
        mfa: config.auth.mfa,
        ...(rbac ? { rbac: { bindings: rbac.bindings, roles: Object.keys(rbac.roles) } } : {}),
        ...(backups
          ? {
              backups: async () => {
                const { items, errors } = await backups.list();
                return { newest: items.map((i) => i.created_at).sort().at(-1), errors: errors.map((e) => `${e.destination}: ${e.error}`) };
              },
            }
          : {}),
        ...(config.backup?.schedule ? { backupSchedule: { cron: config.backup.schedule, ...(config.backup.timezone ? { timezone: config.backup.timezone } : {}) } } : {}),
        pseudonymKey: pseudonymizer !== undefined,
        ...(parts.localUsers ? { localUsers: parts.localUsers } : {}),
        ...(parts.rolesOf ? { rolesOf: parts.rolesOf } : {}),
      },
    });
}
