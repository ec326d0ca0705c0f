export { registerBuildInfo, registerProcessMetrics } from './process-metrics.js';
export { PushgatewayPusher, groupUrl, type PushOptions } from './pushgateway.js';
export { registerHistogramMetric, type HistogramSpec } from './histogram-metric.js';
