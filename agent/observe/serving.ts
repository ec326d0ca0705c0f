// What an agent loads only when something reads its metrics (observe.listen, a Pushgateway, or
// parts that bring their own registries): prom-client and the registries, the listener and the
// pusher. An agent with none of them configured never loads prom-client (idle RSS, issue 17).
import type { Registry } from 'prom-client';
import { loadHealthMetrics, type AgentHealth, type AgentHealthDeps } from '../health/index.js';
import { PushgatewayPusher } from '../../shared/metrics/index.js';
import type { Logger } from '../../shared/logging/index.js';
import type { Tracing } from '../../shared/tracing/index.js';
import { createAgentMetrics, type AgentMetricSources } from './agent-metrics.js';
import type { ObserveConfig } from './config.js';
import { ObserveListener, type HealthSource } from './listener.js';

export { ObserveListener };

export interface ServingDeps extends AgentMetricSources {
  config: ObserveConfig;
  labels: { cluster: string; agent: string };
  health: AgentHealthDeps;
  tracing: Tracing;
  /** The agent's health (the storage source) and what its series read. */
  agentHealth: AgentHealth;
  /** Health sources beside the storage one (Slurm, hub stream, other parts). */
  sources: HealthSource[];
  /** Other parts' registries, served and pushed with the agent's own. */
  registries: Registry[];
  status: () => Record<string, unknown>;
  logger: Logger;
}

export interface Serving {
  metrics: Registry;
  observe?: ObserveListener;
  pushers: PushgatewayPusher[];
}

export async function startServing(deps: ServingDeps): Promise<Serving> {
  const { config, labels, logger } = deps;
  const metrics = createAgentMetrics(deps, labels);
  await deps.tracing.registerMetrics(metrics, 'sfleet_agent_');
  const registries = [metrics, (await loadHealthMetrics()).healthRegistry(deps.health), ...deps.registries];
  const observe = await ObserveListener.open(config, {
    registries,
    health: [...deps.sources, { name: 'storage', health: () => deps.agentHealth.health() }],
    status: deps.status,
    logger: logger.child({ component: 'observe' }),
  });
  const push = config.push_gateway;
  const pushers = push
    ? [
        new PushgatewayPusher(
          { registries, logger: logger.child({ component: 'pushgateway' }) },
          { url: push.url, grouping: [['job', push.job], ['cluster', labels.cluster], ['agent', labels.agent]], intervalMs: push.interval, prefix: 'sfleet_agent_' },
        ),
      ]
    : [];
  return { metrics, observe, pushers };
}
