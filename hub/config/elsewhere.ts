// Keys of the brief (../shared/brief/enterprise-features.md) that are not hub settings, or not
// built yet: accepted by name so the file is read, and refused with where the setting lives
// instead. A site pasting the brief's blocks learns what to move, instead of an "unknown key".
import { z } from 'zod';

export function livesElsewhere(pointer: string): z.ZodType<undefined> {
  return z
    .unknown()
    .refine((v) => v === undefined, pointer)
    .optional()
    .describe(`Not read by the hub: ${pointer}`) as unknown as z.ZodType<undefined>;
}

export const ELSEWHERE = {
  integrations:
    'ServiceNow and Jira are reached from alerting.channels: the same keys as a channel of type "servicenow" (instance, username, password, incident_table) or "jira" (url, project, issue_type, plus username and password, or token)',
} as const;
