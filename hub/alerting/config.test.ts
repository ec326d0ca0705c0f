import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../shared/config/index.js';
import { hubConfigSchema } from '../config/schema.js';
import { alertingConfigSchema, channelsOf } from './config.js';

const dir = join(import.meta.dirname, 'testdata');
const env = { SLACK_WEBHOOK_URL: 'https://hooks.slack.example/services/T0/B0/x', PAGERDUTY_KEY: 'R0UTINGKEY' };
const load = (name: string) => loadConfigFile(hubConfigSchema, join(dir, name), { env });

describe('alerting config', () => {
  it("loads the brief's block as written: channels named by type, policies by severity, repeat 3", () => {
    const c = load('brief.yaml').alerting;
    expect(channelsOf(c).map((ch) => ch.name)).toEqual(['email', 'slack', 'pagerduty']);
    expect(c.channels[1]).toMatchObject({ type: 'slack', webhook: env.SLACK_WEBHOOK_URL });
    expect(c.policies.critical).toEqual({ escalation_time: 300_000, channels: ['pagerduty', 'email'], repeat: 3 });
    expect(c.policies.warning).toEqual({ escalation_time: 1_800_000, channels: ['slack', 'email'], repeat: 3 });
    expect(c.keep_firing_for).toBe(120_000);
    expect(c.group_wait).toBe(30_000);
  });

  it('needs the environment variables the block names', () => {
    expect(() => loadConfigFile(hubConfigSchema, join(dir, 'brief.yaml'), { env: {} })).toThrow('environment variable SLACK_WEBHOOK_URL is not set');
  });

  const cases: [string, string][] = [
    ['unknown-channel.yaml', 'unknown-channel.yaml:7: alerting.policies.critical.channels.0: unknown channel "pagerduty"; known: email'],
    ['bad-template.yaml', 'bad-template.yaml:6: alerting.channels.0.title: unknown template field "{{nodename}}"'],
    ['bad-expression.yaml', 'bad-expression.yaml:5: alerting.custom_rules.0.expr: cannot parse expression'],
    ['unknown-figure.yaml', 'unknown-figure.yaml:5: alerting.custom_rules.0.expr: Property "nodes_dead" does not exist.; known figures: connected'],
    ['unknown-rule.yaml', 'unknown-rule.yaml:4: alerting.rules.node_gone: unknown built-in rule; known: cluster_unreachable'],
    ['bad-sms-body.yaml', 'bad-sms-body.yaml:7: alerting.channels.0.body: unknown template field "{{text}}"; known: alertname'],
    ['servicenow-no-credentials.yaml', 'servicenow-no-credentials.yaml:6: alerting.channels.0.username: needs username and password, or token'],
  ];
  it('refuses a bad zone, and a step naming an unknown user or schedule, with file, line and key', () => {
    expect(() => load('bad-zone.yaml')).toThrow('bad-zone.yaml:11: alerting.schedules.hpc.time_zone: unknown time zone "Europe/Atlantis"');
    expect(() => load('unknown-step-user.yaml')).toThrow('unknown-step-user.yaml:16: alerting.policies.critical.steps.0.users.0: unknown user "bob"; known: ana');
    expect(() => load('unknown-step-schedule.yaml')).toThrow('unknown-step-schedule.yaml:17: alerting.policies.critical.steps.1.schedules.0: unknown schedule "hpc-secondary"; known: hpc');
  });

  it('refuses overlapping overrides, and a contact address on a channel that takes none', () => {
    expect(() => load('overlapping-overrides.yaml')).toThrow('overlapping-overrides.yaml:16: alerting.schedules.hpc.overrides.1: overlaps override 0 (2026-03-24T18:00:00Z to 2026-03-25T06:00:00Z)');
    const base = { channels: [{ type: 'email', endpoint: 'a@example.com' }, { type: 'slack', webhook: 'https://hooks.example/x' }] };
    expect(() => alertingConfigSchema.parse({ ...base, users: { ana: { contacts: [{ channel: 'slack', address: 'ana@example.com' }] } } })).toThrow('a slack channel takes no address');
    expect(() => alertingConfigSchema.parse({ ...base, users: { ana: { contacts: [{ channel: 'email', address: 'not-an-address' }] } } })).toThrow(/not-an-address.{0,4} is not an e-mail address/);
    expect(() => alertingConfigSchema.parse({ ...base, policies: { p: { escalation_time: '5m', channels: ['email'], steps: [{ channels: ['email'], wait: '1m' }] } } })).toThrow('not both');
    expect(() => alertingConfigSchema.parse({ ...base, policies: { p: { steps: [{ wait: '1m' }] } } })).toThrow('a step notifies at least one channel, user or schedule');
  });

  it("loads the brief's integrations.servicenow and integrations.jira keys as channels, and refuses bad ticketing and SMS settings", () => {
    const c = alertingConfigSchema.parse({
      channels: [
        { type: 'servicenow', instance: 'company.service-now.com', username: 'u', password: 'p', incident_table: 'incident' },
        { type: 'jira', url: 'https://company.atlassian.net', project: 'HPC', issue_type: 'Bug', username: 'a@company.com', password: 't' },
        { type: 'sms', url: 'https://sms.example/send', to: ['+4915112345678'] },
      ],
      users: { ana: { contacts: [{ channel: 'sms', address: '+4915100000001' }] } },
    });
    expect(channelsOf(c).map((ch) => ch.name)).toEqual(['servicenow', 'jira', 'sms']);
    expect(c.channels[0]).toMatchObject({ resolved_state: '6', close_code: 'Solved (Permanently)', urgency: { critical: '1' } });
    expect(c.channels[1]).toMatchObject({ resolve_transition: 'Done' });
    const sms = { type: 'sms', url: 'https://sms.example/send' };
    expect(() => alertingConfigSchema.parse({ channels: [{ type: 'jira', url: 'https://x.atlassian.net', project: 'HPC', token: 't', username: 'u', password: 'p' }] })).toThrow('give either token or username and password, not both');
    expect(() => alertingConfigSchema.parse({ channels: [{ type: 'jira', url: 'https://x.atlassian.net', project: 'hpc', token: 't' }] })).toThrow('a project key such as HPC');
    expect(() => alertingConfigSchema.parse({ channels: [{ ...sms, body: '{"to": {{to}}' }] })).toThrow('the body template must render JSON');
    expect(() => alertingConfigSchema.parse({ channels: [{ ...sms, method: 'GET' }] })).toThrow('content_type must be form');
    expect(() => alertingConfigSchema.parse({ channels: [{ ...sms, to: ['015112345678'] }] })).toThrow('expected an E.164 number');
    expect(() => alertingConfigSchema.parse({ channels: [sms], users: { ana: { contacts: [{ channel: 'sms', address: 'ana@example.com' }] } } })).toThrow('is not an E.164 number');
  });

  for (const [file, message] of cases) {
    it(`refuses ${file} naming file, line and key`, () => {
      expect(() => load(file)).toThrow(message);
    });
  }

  it('refuses MQTT TLS files with a plain URL (the files would be ignored and the password sent in clear)', () => {
    const mqtt = (url: string) => alertingConfigSchema.parse({ channels: [{ type: 'mqtt', url, password: 'pw', ca_file: '/etc/ssl/ca.pem' }] });
    expect(() => mqtt('mqtt://broker:1883')).toThrow('ca_file needs a TLS URL (mqtts:// or wss://), not mqtt://');
    expect(() => mqtt('mqtts://broker:8883')).not.toThrow();
    expect(() => mqtt('wss://broker/mqtt')).not.toThrow();
  });

});
