// The hub's `stream:` section: the agent stream's heartbeats and when a standby agent takes over.
import { z } from 'zod';
import { duration } from '../../shared/config/index.js';

export const streamConfigSchema = z
  .object({
    heartbeat_interval: duration.default(5_000).describe('How often agents send a heartbeat when they have nothing else to send.'),
    failover_threshold: z.number().int().min(2).max(100).default(3).describe('Missed heartbeats before an agent counts as gone and a standby agent of its cluster takes over.'),
  })
  .strict()
  .default({ heartbeat_interval: 5_000, failover_threshold: 3 });
