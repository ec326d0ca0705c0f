export { createAgentHealth, type AgentHealth, type AgentHealthDeps, type AgentHealthSnapshot, type SpoolHealth } from './agent-health.js';

/** The health series (prom-client): loaded only by an agent that serves or pushes metrics. */
export function loadHealthMetrics(): Promise<typeof import('./health-metrics.js')> {
  return import('./health-metrics.js');
}
