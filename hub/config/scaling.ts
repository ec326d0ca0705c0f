// The brief's `scaling:` section. `shared_state` is the hub group's Redis (the same as a `redis:`
// section with only a url); the instance counts and the CPU target are the deployment's: the hub
// does not start hubs: `sfleet deploy render kubernetes --config hub.yaml` (cli/deploy) writes
// them into the StatefulSet, its disruption budget and its HorizontalPodAutoscaler.
import { z } from 'zod';

export const scalingConfigSchema = z
  .object({
    mode: z
      .enum(['horizontal'], { error: 'only "horizontal": more hubs share the API and watch load (a hub\'s own size is the deployment\'s resources)' })
      .default('horizontal')
      .describe('How the group grows: more hubs (horizontal).'),
    min_instances: z.number().int().min(1).max(100).default(3).describe('Hubs the deployment always runs (the StatefulSet replicas and the autoscaler minimum).'),
    max_instances: z.number().int().min(1).max(100).default(10).describe('Most hubs the autoscaler runs.'),
    target_cpu_utilization: z.number().int().min(1).max(100).default(70).describe('The autoscaler adds a hub above this average CPU use (percent of the request).'),
    shared_state: z
      .object({
        backend: z.enum(['redis'], { error: 'only "redis": the group shares its state in Redis (and etcd)' }).describe('Where the group shares state: redis.'),
        url: z.string().regex(/^rediss?:\/\/\S+$/, 'expected redis://[user:password@]host:port[/db]').describe('The Redis of the group: the same as redis.url.'),
      })
      .strict()
      .optional()
      .describe("The group's Redis: the same as a redis: section with this url (set one or the other)."),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.max_instances < s.min_instances) ctx.addIssue({ code: 'custom', path: ['max_instances'], message: `${s.max_instances} is below min_instances (${s.min_instances})` });
  });

export type ScalingConfig = z.infer<typeof scalingConfigSchema>;
