export { IngestRegistry, type IngestDeps, type IngestPath } from './ingest-registry.js';
export { AgentCertificates, type AgentCertificatesDeps } from './certificate-renewal.js';
export { ClusterWriters, type AttachableOwnership, type Writer, type WriterRole } from './writers.js';
export type { DeltaPath } from './delta-apply.js';
export { HeldDeltas, HELD_DELTAS_LIMIT } from './held-deltas.js';
export type { DeltaFit } from '../fleet/index.js';
export type { IngestStats } from './stats.js';
export * from './errors.js';
// The stages hub/pipeline.ts composes.
export { FastDeltaDecoder } from './decode/index.js';
export { ApplyTurns } from './apply-turns.js';
export { agentIdentity, checkDelta } from './verify.js';
export { AgentReports, type HeardAgent } from './agent-reports.js';
