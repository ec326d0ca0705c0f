export * from './load.js';
export * from './fields.js';
