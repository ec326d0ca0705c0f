export * from './command-router.js';
