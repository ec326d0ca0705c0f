export * from './schema.js';
export * from './sso-schema.js';
