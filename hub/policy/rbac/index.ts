export * from './config.js';
export * from './resources.js';
export * from './roles.js';
export * from './row-filter.js';
export * from './policy.js';
export * from './visibility.js';
export * from './tenant-scope.js';
