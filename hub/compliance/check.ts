// What the compliance section asks of the other sections, checked at load: a backend that is
// configured in the audit section, fields that something ships, gdpr settings with gdpr on.
import type { z } from 'zod';
import type { AuditConfig } from '../audit/index.js';
import type { ComplianceConfig } from './config.js';

export function checkCompliance(c: { audit: AuditConfig; compliance?: ComplianceConfig }, ctx: z.RefinementCtx): void {
  const compliance = c.compliance;
  if (!compliance) return;
  const backend = compliance.audit?.backend ?? 'file';
  if (backend !== 'file' && !c.audit.ship?.[backend]) {
    ctx.addIssue({ code: 'custom', path: ['compliance', 'audit', 'backend'], message: `"${backend}" is the audit log's shipping: configure audit.ship.${backend} (its url and credentials)` });
  }
  if (compliance.audit?.fields) {
    if (backend === 'file') ctx.addIssue({ code: 'custom', path: ['compliance', 'audit', 'fields'], message: 'fields choose what a backend is sent, and backend "file" sends nothing: set backend to elasticsearch or webhook' });
    if (c.audit.ship?.fields) ctx.addIssue({ code: 'custom', path: ['compliance', 'audit', 'fields'], message: 'audit.ship.fields is set too: keep one of them' });
  }
  if (compliance.gdpr && !compliance.frameworks.includes('gdpr')) {
    ctx.addIssue({ code: 'custom', path: ['compliance', 'gdpr'], message: 'the pseudonym key is used with the gdpr framework: add gdpr to compliance.frameworks' });
  }
}
