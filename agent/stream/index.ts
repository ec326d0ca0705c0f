export { HubStream, type HubStreamOptions, type HubStreamDeps } from './hub-stream.js';
export { CertificateRenewal, type CertificateRenewalOptions } from './certificate-renewal.js';
export { effectiveTls, renewedFiles } from './renewed-certificate.js';
