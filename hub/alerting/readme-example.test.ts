// The full-form example of hub/alerting/README.md loads as a hub configuration and escalates
// as the README says: a README example that drifts from the schema fails here.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../shared/config/index.js';
import { hubConfigSchema } from '../config/schema.js';
import { stepsOf } from './config.js';

describe('hub/alerting/README.md', () => {
  it('its full-form example loads; the short form shown there equals its one-step full form', () => {
    const readme = readFileSync(join(import.meta.dirname, 'README.md'), 'utf8');
    const block = /<!-- full-form-example -->\n```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    const file = join(mkdtempSync(join(tmpdir(), 'readme-')), 'hub.yaml');
    writeFileSync(file, `tls: { ca: ca.pem, cert: hub.pem, key: hub.key }\n${block}`);
    const c = loadConfigFile(hubConfigSchema, file, { env: { SMTP_PASSWORD: 'x', PAGERDUTY_KEY: 'k' } }).alerting;
    expect(stepsOf(c.policies.critical).map((s) => [s.channels, s.users, s.schedules, s.wait])).toEqual([
      [['pagerduty'], [], ['hpc-primary'], 300_000],
      [[], ['head-of-hpc'], [], 900_000],
    ]);
    expect(c.schedules['hpc-primary']).toMatchObject({ time_zone: 'Europe/Berlin', handoff: { day: 'monday', time: '09:00' } });
    expect(stepsOf(c.policies.warning)).toEqual([{ channels: ['email'], users: [], schedules: [], wait: 1_800_000 }]);
  });

  it('its ServiceNow, Jira and SMS examples load as hub configurations', () => {
    const readme = readFileSync(join(import.meta.dirname, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Ticketing and SMS channels'), readme.indexOf('## History'));
    const blocks = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);
    expect(blocks).toHaveLength(3);
    const env = { SNOW_USER: 'u', SNOW_PASS: 'p', JIRA_API_TOKEN: 't', SMS_TOKEN: 's', KANNEL_PASS: 'k' };
    const types = blocks.flatMap((block) => {
      const file = join(mkdtempSync(join(tmpdir(), 'readme-')), 'hub.yaml');
      writeFileSync(file, `tls: { ca: ca.pem, cert: hub.pem, key: hub.key }\n${block}`);
      return loadConfigFile(hubConfigSchema, file, { env }).alerting.channels.map((ch) => ch.type);
    });
    expect(types).toEqual(['servicenow', 'jira', 'sms', 'sms']);
  });
});
