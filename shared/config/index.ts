export * from './load.js';
export * from './fields.js';
export * from './export.js';
