export { createHubMetrics } from './hub-metrics.js';
