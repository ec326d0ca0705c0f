export * from './record-log.js';
export { crc32 } from './crc32.js';
