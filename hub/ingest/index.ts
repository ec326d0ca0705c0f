export { IngestRegistry, type IngestDeps } from './agent-session.js';
export { AgentCertificates, type AgentCertificatesDeps } from './certificate-renewal.js';
