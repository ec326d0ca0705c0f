export * from './session-store.js';
export * from './durable-session-stores.js';
export * from './session-revalidation.js';
export * from './session-ends.js';
