export { IngestRegistry, type IngestDeps } from './ingest-registry.js';
export { AgentCertificates, type AgentCertificatesDeps } from './certificate-renewal.js';
