// The HTTP face of one simulated cluster: slurmrestd's API for one version plus /sim/v1 control.
export { SimServer, type SimServerOptions } from './server.js';
export { Faults, parseFaults, type FaultSpec, type FaultDecision } from './faults.js';
export { openapiDocument } from './openapi.js';
