// The frameworks as presets over the audit section. Each only raises: a longer retention, more
// records, never fewer. What the hub runs with is effectiveAudit(config); the compliance report
// compares it with what each framework requires.
import type { AuditConfig } from '../audit/index.js';
import type { AuditRule } from '../audit/index.js';
import type { ComplianceConfig, Framework } from './config.js';

/** SOX: records of changes kept seven years. */
export const SOX_RETENTION_DAYS = 2555;

/** Actions that read job data (REST, gRPC, watch, history and its exports): HIPAA records each one. */
export const JOB_DATA_READS = ['jobs:read', 'watch:read', 'history:read', 'history:query', 'history:report', 'history:export'] as const;

/** What the brief calls a field, as the record names it. */
const RECORD_FIELD: Record<string, string> = { ip: 'source_ip' };

export interface EffectiveAudit {
  config: AuditConfig;
  /** Minimum levels the site's rules cannot lower (AuditLogOptions.floors). */
  floors: AuditRule[];
  /** Per framework, what it raised (for the log line at start and the compliance report). */
  raised: { framework: Framework | 'compliance.audit'; setting: string; from: string; to: string }[];
}

export function has(compliance: ComplianceConfig | undefined, framework: Framework): boolean {
  return compliance?.frameworks.includes(framework) ?? false;
}

/** The minimum audit retention the configuration asks for (frameworks and compliance.audit.retention_days). */
export function requiredRetentionDays(compliance: ComplianceConfig | undefined): { days: number; by: string } | undefined {
  const sox = has(compliance, 'sox') ? SOX_RETENTION_DAYS : 0;
  const own = compliance?.audit?.retention_days ?? 0;
  if (!sox && !own) return undefined;
  return own >= sox ? { days: own, by: 'compliance.audit.retention_days' } : { days: sox, by: 'sox' };
}

export function effectiveAudit(audit: AuditConfig, compliance: ComplianceConfig | undefined): EffectiveAudit {
  const raised: EffectiveAudit['raised'] = [];
  let config = audit;
  const need = requiredRetentionDays(compliance);
  if (need && need.days > audit.retention_days) {
    raised.push({ framework: need.by === 'sox' ? 'sox' : 'compliance.audit', setting: 'audit.retention_days', from: String(audit.retention_days), to: String(need.days) });
    config = { ...config, retention_days: need.days };
  }
  const fields = compliance?.audit?.fields;
  if (fields && config.ship) {
    const mapped = [...new Set(fields.map((f) => RECORD_FIELD[f] ?? f))] as NonNullable<AuditConfig['ship']>['fields'];
    raised.push({ framework: 'compliance.audit', setting: 'audit.ship.fields', from: config.ship.fields?.join(',') ?? 'all', to: mapped!.join(',') });
    config = { ...config, ship: { ...config.ship, fields: mapped } };
  }
  const floors: AuditRule[] = [];
  if (has(compliance, 'hipaa')) {
    floors.push({ level: 'Metadata', actions: JOB_DATA_READS });
    raised.push({ framework: 'hipaa', setting: 'audit level of job data reads', from: 'by audit.rules', to: 'Metadata at least' });
  }
  return { config, floors, raised };
}
