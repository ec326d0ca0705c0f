export { createAgentHealth, type AgentHealth, type AgentHealthDeps, type AgentHealthSnapshot, type SpoolHealth } from './agent-health.js';
