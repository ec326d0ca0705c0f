// The slurmrestd endpoints of a cluster and how several share the work: the agent's `slurm:`
// section reads them, and the hub's `clusters:` map declares them per cluster (sfleet config
// agent-for copies them into that cluster's agent.yaml), so both check them alike.
import { z } from 'zod';
import { duration } from './fields.js';

export const slurmEndpoint = z
  .string()
  .regex(/^(https?:\/\/[^\s/]+(\/.*)?|unix:\/.+)$/, 'expected http(s)://host:port or unix:/path/to/slurmrestd.sock');

// Several endpoints: failover = the first healthy one in order (fail back once the primary
// has answered failover_threshold health checks again); round_robin = polls take turns.
export const loadBalancingSchema = z
  .object({
    strategy: z.enum(['failover', 'round_robin']).default('failover').describe('failover: the first healthy endpoint in order (fail back once the primary has passed failover_threshold health checks again); round_robin: polls take turns.'),
    health_check_interval: duration.refine((ms) => ms === 0 || ms >= 100, 'at least 100ms (or 0: no health checks, only request outcomes)').default(30_000).describe('How often each endpoint is pinged; 0: no health checks, only request outcomes.'),
    failover_threshold: z.number().int().min(1).max(100).default(3).describe('Failures in a row that mark an endpoint down; with failover, also the good health checks in a row before a higher one is used again.'),
  })
  .strict();

export type LoadBalancing = z.infer<typeof loadBalancingSchema>;
