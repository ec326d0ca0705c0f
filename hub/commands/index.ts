export * from './command-router.js';
export * from './errors.js';
