// The hub's `submit:` section: who a login submits as, and the reservation that holds admitted
// quota until the job shows in the fleet state.
import { z } from 'zod';
import { duration } from '../../shared/config/index.js';

export const submitConfigSchema = z
  .object({
    min_uid: z.number().int().min(1).default(1000).describe('Never submit as a user whose uid (as getent knows it on the hub) is below this; the agent checks again on the cluster.'),
    slurm_user: z.string().min(1).default('slurm').describe('The SlurmUser: jobs are never submitted as it (nor as root).'),
    user_map: z.record(z.string(), z.string().min(1)).default({}).describe('Login name -> Slurm user; a login not listed submits as its own name.'),
    reservation_ttl: duration.default(120_000).describe('How long admitted quota stays reserved when the job does not show in the fleet state (it ended first, or the agent is slow).'),
  })
  .strict()
  .default({ min_uid: 1000, slurm_user: 'slurm', user_map: {}, reservation_ttl: 120_000 });

export type SubmitConfig = z.infer<typeof submitConfigSchema>;
