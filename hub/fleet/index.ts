export * from './fleet-state.js';
export * from './freshness.js';
export * from './queries.js';
export * from './job-index.js';
export * from './job-order.js';
export * from './snapshot-of.js';
export * from './job-sort.js';
