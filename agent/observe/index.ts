// The agent's observability. The metrics, the listener and the pusher (prom-client) load only
// when configured: loadServing() (serving.ts).
export { agentReport, type ReportSources } from './agent-report.js';
export type { AgentMetricSources } from './agent-metrics.js';
export { observeConfigSchema, isLoopback, type ObserveConfig } from './config.js';
export type { ObserveListener, HealthSnapshot, HealthSource, ListenerDeps } from './listener.js';
export type { Serving, ServingDeps } from './serving.js';
export { agentStatus, type StatusAnswer } from './status-client.js';
export { PollTrace } from './poll-trace.js';

export function loadServing(): Promise<typeof import('./serving.js')> {
  return import('./serving.js');
}
