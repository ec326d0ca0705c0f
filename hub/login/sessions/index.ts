export * from './session-store.js';
export * from './durable-session-stores.js';
