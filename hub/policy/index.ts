export * from './token-store.js';
export * from './authenticate.js';
