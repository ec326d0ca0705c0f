// The simulated cluster engine: state, tick(now), commands and the model view.
export {
  SimEngine,
  SimCommandError,
  SLURM_ERRORS,
  resolveEngineOptions,
  type SimClock,
  type SimCommand,
  type SimCommandKind,
  type SimEngineOptions,
  type ResolvedEngineOptions,
  type SubmitSpec,
  type TickSummary,
} from './engine.js';
export * from './types.js';
export * from './derived.js';
export { toClusterModel, jobToModel, nodeToModel, type ModelOptions } from './model.js';
export { Prng } from './prng.js';
