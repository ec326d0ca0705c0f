// Rules: the built-in ones over the fleet facts, custom expressions, and the evaluator.
export { BUILTIN_RULES, type BuiltinRuleName, type RuleContext } from './builtin.js';
export { AlertTracker, buildRules, type IntakeAlert, type Rule, type Transitions } from './evaluator.js';
export { clusterFacts } from './fleet-facts.js';
export { CounterWindow, EventWindow, NO_HUB_FACTS, type AgentFacts, type HubFacts } from './hub-signals.js';
