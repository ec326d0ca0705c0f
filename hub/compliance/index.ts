// Compliance: the frameworks as presets over the audit log (presets.ts), what they ask of the
// configuration (check.ts), and the evidence report.
export { complianceConfigSchema, FRAMEWORKS, type ComplianceConfig, type Framework } from './config.js';
export { effectiveAudit, has, JOB_DATA_READS, requiredRetentionDays, SOX_RETENTION_DAYS, type EffectiveAudit } from './presets.js';
export { checkCompliance } from './check.js';
export { Pseudonymizer, pseudonymizerFrom } from './pseudonym.js';
export { PseudonymizedUsers, userWordPattern } from './pseudonymized-users.js';
export { exportPerson, type PersonExport, type PersonSources } from './person-export.js';
export { complianceReport, type ComplianceReport, type Control, type LocalUserFacts, type ReportInputs } from './report.js';
export { registerComplianceRoutes, type ComplianceRouteDeps } from './routes.js';
export { PseudonymKeyMissingError } from './errors.js';
