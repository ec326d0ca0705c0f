export * from './ca.js';
export * from './identity.js';
export * from './credentials.js';
