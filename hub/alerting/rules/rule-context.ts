// What one evaluation hands every rule, and the shape of a built-in rule.
import type { ClusterFacts } from './fleet-facts.js';
import type { AgentFacts, HubFacts } from './hub-signals.js';

export interface RuleTuning {
  for: number;
  severity: string;
  threshold: number;
  window: number;
}

export interface Candidate {
  labels: Record<string, string>;
  summary: string;
}

export interface RuleContext {
  now: number;
  clusters: readonly ClusterFacts[];
  /** The clusters hub.yaml's `clusters:` map declares (the hub should hear from each). */
  expected: readonly string[];
  /** Clustered: clusters whose replication is stale, with why. */
  stale: ReadonlyMap<string, string>;
  /** Certificates the hub holds: name and notAfter (ms). */
  certificates: readonly { name: string; notAfter: number }[];
  /** Clusters this hub has heard of but whose controller objects say not responding. */
  controllers: readonly { cluster: string; hostname: string; responding: boolean; server_thread_count?: number | undefined; agent_queue_size?: number | undefined }[];
  /** The agents heard on this hub, from their heartbeat reports. */
  agents: readonly AgentFacts[];
  /** etcd, Redis, the audit log, peer regions. */
  hub: HubFacts;
  /** Failed logins per source address within the login_failures window. */
  loginFailures: ReadonlyMap<string, number>;
}

export interface BuiltinRule {
  expression: string;
  defaults: RuleTuning;
  evaluate(ctx: RuleContext, t: RuleTuning): Candidate[];
}
