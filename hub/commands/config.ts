// The hub's `commands:` section: job and node commands sent to the cluster's agent.
import { z } from 'zod';
import { duration } from '../../shared/config/index.js';

export const commandsConfigSchema = z
  .object({ timeout: duration.default(30_000).describe("How long the hub waits for the agent's answer to a command.") })
  .strict()
  .default({ timeout: 30_000 });
