// integrations.confluence: where the monthly usage report and the post-incident pages go.
// `url` is the Confluence base (Cloud: https://<site>.atlassian.net/wiki; Data Center: the
// context path), pages are written through REST API v1 under <url>/rest/api/content.
import { z } from 'zod';
import { cronExpression, duration, timeZone } from '../../shared/config/index.js';

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name');

export const confluenceConfigSchema = z
  .object({
    url: z.string().regex(/^https?:\/\/[^\s]+$/, 'expected http(s)://host/... (Cloud: https://<site>.atlassian.net/wiki)').describe('The Confluence base URL: Cloud https://<site>.atlassian.net/wiki, Data Center its base URL. Pages go to <url>/rest/api/content.'),
    space: z.string().regex(/^~?[A-Za-z0-9_-]{1,255}$/, 'a space key such as HPC').describe('The key of the space the pages are written in.'),
    parent_page: z
      .union([z.string().min(1), z.number().int().positive()])
      .optional()
      .describe('The page the reports are filed under: its title in the space, or its numeric id. Absent: the space root.'),
    username: z.string().min(1).optional().describe('Cloud: the Atlassian account e-mail; with the token as its API token (Basic auth). Absent: the token is a personal access token (Bearer, Data Center).'),
    token_env: envName.optional().describe('An environment variable holding the API token or personal access token.'),
    token_file: z.string().min(1).optional().describe('A file holding the API token or personal access token.'),
    ca_file: z.string().min(1).optional().describe('https: PEM file of the CA(s) that sign Confluence\'s certificate (default: the system\'s CAs).'),
    timeout: duration.default(10_000).describe('Per request.'),
    retries: z.number().int().min(0).max(10).default(3).describe('Further tries after a request that got no answer, 408, 429 (after its Retry-After) or 5xx, with exponential backoff and jitter.'),
    usage_report: z
      .object({
        enabled: z.boolean().default(true).describe('Publish the monthly usage report page.'),
        schedule: cronExpression.default('0 6 1 * *').describe('When the report of the month before is written (cron, in `timezone`); run by the leader.'),
        timezone: timeZone.default('UTC').describe('Time zone of `schedule` and of the month boundaries.'),
        catch_up: duration.default(7 * 86_400_000).describe('A run missed (no leader, Confluence down) is still made when possible within this long after it was due.'),
      })
      .strict()
      .prefault({})
      .describe('A page per month: CPU- and GPU-hours, runs, waits and failures per account and per cluster, from the job history.'),
    incident_pages: z
      .object({
        enabled: z.boolean().default(true).describe('Write a post-incident page when an alert of one of `severities` resolves.'),
        severities: z.array(z.string().min(1)).min(1).default(['critical']).describe('Alert severities that get a page.'),
      })
      .strict()
      .prefault({})
      .describe('A page per resolved alert of these severities: timeline, acknowledgements, affected clusters.'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.token_env && c.token_file) ctx.addIssue({ code: 'custom', path: ['token_file'], message: 'set token_env or token_file, not both' });
    if (!c.token_env && !c.token_file) ctx.addIssue({ code: 'custom', path: ['token_env'], message: 'needs token_env or token_file (an API token with username, or a personal access token)' });
  })
  .describe('Confluence reports: the monthly usage report and post-incident pages, written by the leader through the REST API.');

export type ConfluenceConfig = z.infer<typeof confluenceConfigSchema>;
