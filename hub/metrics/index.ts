export { registerDurabilityMetrics } from './durability-metrics.js';
export { createHubMetrics, type HubMetrics, type HubMetricsDeps, type HubMetricsOptions } from './hub-metrics.js';
export { FLEET_FAMILIES } from './fleet-series.js';
export { observabilityConfigSchema, type ObservabilityConfig } from './config.js';
export { timeGrpcService } from './grpc-timing.js';
export { filterExposition, tenantSeries, type SeriesLabels } from './tenant-exposition.js';
