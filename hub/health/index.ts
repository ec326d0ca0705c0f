export { Listening } from './listening.js';
export { localHealth, type LocalHealthDeps, type ReplicationHealth } from './local-health.js';
export { readiness, type Readiness, type ReadinessDeps } from './readiness.js';
export { hubHealth, type HubHealthDeps, type HubHealthSnapshot } from './hub-health.js';
