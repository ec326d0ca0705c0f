// The audit log: hash-chained append-only files, level policy, redaction, query, shipping.
// Other components record events with `audit.record({...})` (an AuditLog from RunningHub).
export { AuditLog, type AuditLogOptions } from './audit-log.js';
export { NodeAuditFiles, type AuditFiles } from './audit-files.js';
export { auditConfigSchema, type AuditConfig } from './config.js';
export { AuditUnavailableError, AuditWriteError } from './errors.js';
export { auditRefusedRequest, registerAuditHooks, registerAuditRoutes, setAuditContext, outcomeFor } from './http-audit.js';
export { auditGrpcService, grpcRefusalEvent } from './grpc-audit.js';
export { agentRefusalEvent } from './agent-refusal.js';
export { registerAuditMetrics } from './metrics.js';
export { levelFor, type AuditRule } from './policy.js';
export { redact, REDACTED } from './redact.js';
export { verifyChain, type VerifyResult } from './verify.js';
export { readSecret } from './secrets.js';
export type { AuditQuery } from './query.js';
export type { AuditEvent, AuditLevel, AuditOutcome, AuditRecord } from './record.js';
