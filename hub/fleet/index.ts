export * from './fleet-state.js';
export * from './queries.js';
export * from './job-index.js';
export * from './job-order.js';
