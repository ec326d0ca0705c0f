export { createHubMetrics } from './hub-metrics.js';
export { registerDurabilityMetrics } from './durability-metrics.js';
