export * from './ca.js';
export * from './identity.js';
export * from './credentials.js';
export * from './csr.js';
export * from './revocation.js';
