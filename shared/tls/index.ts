// Everything TLS. The agent imports ./credentials.js alone: ./ca.js pulls in @peculiar/x509
// (about 13 MB of memory) that only the CA commands and the hub need.
export * from './ca.js';
export * from './identity.js';
export * from './credentials.js';
export * from './csr.js';
export * from './revocation.js';
export * from './policy.js';
export * from './config.js';
