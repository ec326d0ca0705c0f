export * from './connection.js';
export * from './hub-client.js';
