export * from './merge.js';
export * from './federation.js';
