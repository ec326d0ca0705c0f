// A declared cluster's agent configuration, from the hub's `clusters:` map.
export { agentFor, TOKEN_VAR, type AgentFor, type AgentForOptions } from './agent-for.js';
