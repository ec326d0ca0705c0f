// The simulated cluster engine: state, tick(now), commands and the model view.
export { SimEngine } from './engine.js';
export { SimCommandError, SLURM_ERRORS } from './command-errors.js';
export {
  resolveEngineOptions,
  type SimClock,
  type SimCommand,
  type SimCommandKind,
  type SimEngineOptions,
  type ResolvedEngineOptions,
  type SubmitSpec,
  type TickSummary,
} from './options.js';
export * from './types.js';
export * from './derived.js';
export { toClusterModel, jobToModel, nodeToModel, type ModelOptions } from './model.js';
export { Prng } from './prng.js';
