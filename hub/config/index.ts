export * from './schema.js';
export { scalingConfigSchema, type ScalingConfig } from './scaling.js';
