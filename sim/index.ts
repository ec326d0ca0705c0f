// `sfleet sim`: a slurmrestd-compatible simulator for demos and scale tests. One simulated cluster
// (engine → renderer for its API version → HTTP server), or K of them on consecutive ports.
export {
  startSimulator,
  startSimulatedFleet,
  parseListen,
  parseApiVersion,
  SIM_DEFAULTS,
  type StartSimulatorOptions,
  type StartFleetOptions,
  type RunningSimulator,
  type RunningFleet,
} from './start.js';
export {
  SimEngine,
  SimCommandError,
  toClusterModel,
  type SimClock,
  type SimCommand,
  type SimCommandKind,
  type SimEngineOptions,
  type SubmitSpec,
  type TickSummary,
  type LastUpdate,
} from './engine/index.js';
export { API_VERSIONS, isApiVersion, SlurmRenderer, type ApiVersion } from './render/index.js';
export { SimServer, openapiDocument, parseFaults, type FaultSpec } from './server/index.js';
