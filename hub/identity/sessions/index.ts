export * from './session-store.js';
