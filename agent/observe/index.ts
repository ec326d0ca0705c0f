export { agentReport, type ReportSources } from './agent-report.js';
export { createAgentMetrics, type AgentMetricSources } from './agent-metrics.js';
export { observeConfigSchema, isLoopback, type ObserveConfig } from './config.js';
export { ObserveListener, type HealthSnapshot, type HealthSource, type ListenerDeps } from './listener.js';
export { agentStatus, type StatusAnswer } from './status-client.js';
export { PollTrace } from './poll-trace.js';
