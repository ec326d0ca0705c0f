export * from './cluster-objects.js';
export * from './codec.js';
export { FastDeltaDecoder } from './fast-decode.js';
