export * from './token-store.js';
export * from './authenticate.js';
export * from './rbac/index.js';
