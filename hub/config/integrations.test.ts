// The brief's integrations: block: servicenow and jira are alerting channels named by their key,
// which policies name; errors point at integrations.<kind>; `config export` loads back.
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { exportConfig, parseConfigText, validateConfigText } from '../../shared/config/index.js';
import { channelsOf } from '../alerting/config.js';
import { hubConfigSchema, withoutDerived } from './schema.js';

const TLS = 'tls: { ca: a, cert: b, key: c }\n';
const ENV = { SNOW_USER: 'snow', SNOW_PASS: 'snow-s3cret-value', JIRA_TOKEN: 'jira-token' };
const BRIEF = `integrations:
  servicenow:
    instance: "company.service-now.com"
    username: "\${SNOW_USER}"
    password: "\${SNOW_PASS}"
    incident_table: "incident"

  jira:
    url: "https://company.atlassian.net"
    project: "HPC"
    issue_type: "Bug"
    token: "\${JIRA_TOKEN}"
alerting:
  policies:
    critical: { escalation_time: 5m, channels: ["servicenow", "jira"] }
`;

describe('hub config: integrations', () => {
  it("the brief's servicenow and jira become channels of those names, which a policy names", () => {
    const c = parseConfigText(hubConfigSchema, TLS + BRIEF, 'hub.yaml', { env: ENV });
    expect(c.integrations?.servicenow).toMatchObject({ instance: 'company.service-now.com', username: 'snow', password: 'snow-s3cret-value', incident_table: 'incident' });
    const channels = channelsOf(c.alerting);
    expect(channels.find((ch) => ch.name === 'servicenow')).toMatchObject({ type: 'servicenow', instance: 'company.service-now.com', username: 'snow', incident_table: 'incident', resolved_state: '6' });
    expect(channels.find((ch) => ch.name === 'jira')).toMatchObject({ type: 'jira', url: 'https://company.atlassian.net', project: 'HPC', issue_type: 'Bug', token: 'jira-token', resolve_transition: 'Done' });
    expect(c.alerting.policies.critical.channels).toEqual(['servicenow', 'jira']);
  });

  it('an invalid integration is reported at integrations.<kind>, with file and line', () => {
    const problems = validateConfigText(hubConfigSchema, TLS + BRIEF.replace('project: "HPC"', 'project: "hpc queue"').replace('    token: "${JIRA_TOKEN}"\n', ''), 'hub.yaml', { env: ENV });
    expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(/^hub\.yaml:\d+: integrations\.jira\.project: a project key such as HPC$/)]));
    expect(problems.some((p) => p.includes('alerting.channels'))).toBe(false);
  });

  it('refuses another channel of the same name; the same channel written back by config export loads again', () => {
    const clash = `${TLS}${BRIEF}  channels:\n    - { type: webhook, name: jira, url: "https://hooks.example.com/x" }\n`;
    expect(validateConfigText(hubConfigSchema, clash, 'hub.yaml', { env: ENV })).toEqual([
      expect.stringMatching(/^hub\.yaml:\d+: integrations\.jira: alerting\.channels has another channel named "jira": configure it in one place/),
    ]);
    const c = parseConfigText(hubConfigSchema, TLS + BRIEF, 'hub.yaml', { env: ENV });
    const raw = parseDocument(TLS + BRIEF).toJS();
    const exported = exportConfig(hubConfigSchema, withoutDerived(c, raw), raw);
    expect(exported).not.toContain('snow-s3cret-value');
    expect(exported).not.toContain('jira-token');
    const again = parseConfigText(hubConfigSchema, exported, 'exported.yaml', { env: ENV });
    expect(channelsOf(again.alerting).map((ch) => ch.name).sort()).toEqual(['jira', 'servicenow']);
  });

  it('an unknown integration is refused by name', () => {
    expect(validateConfigText(hubConfigSchema, `${TLS}integrations: { kong: { url: "https://gateway" } }\n`, 'hub.yaml', { env: ENV })).toEqual([expect.stringMatching(/integrations: Unrecognized key: "kong"/)]);
  });
});
