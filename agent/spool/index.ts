export { DeltaSpool, type SpoolOptions, type SpoolDeps } from './delta-spool.js';
export { encodeForWire, recordOf, wireOfRecord, isWireDelta, type WireDelta } from './wire-delta.js';
