export { DeltaSpool, type SpoolOptions, type SpoolDeps } from './delta-spool.js';
