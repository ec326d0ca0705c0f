export * from './cluster-objects.js';
export * from './codec.js';
