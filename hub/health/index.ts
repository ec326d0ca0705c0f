export { Listening } from './listening.js';
export { localHealth, type LocalHealthDeps, type ReplicationHealth } from './local-health.js';
export { readiness, type Readiness, type ReadinessDeps } from './readiness.js';
