// The ticketing channels' tickets are alerting state: a hub restarted mid-episode updates and
// resolves the ServiceNow incident and the Jira issue it opened before, never a second one.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jiraReceiver, servicenowReceiver } from '../../test/harness/alert-receivers.js';
import { ManualClock } from '../../shared/clock/index.js';
import { createLogger } from '../../shared/logging/index.js';
import { Alerting } from './alerting.js';
import { alertingConfigSchema } from './config.js';
import { Fleet } from './fleet-fixture.js';

const logger = createLogger({ name: 'test', level: 'silent' });
const SNOW = { username: 'sfleet', password: 'snow-pass' };
const JIRA = { username: 'pager@company.com', password: 'jira-token' };

describe('ServiceNow and Jira tickets across a hub restart', () => {
  let snow: ReturnType<typeof servicenowReceiver>, jira: ReturnType<typeof jiraReceiver>, dir: string;
  beforeAll(async () => {
    snow = await servicenowReceiver(SNOW).start();
    jira = await jiraReceiver(JIRA, 'HPC').start();
    dir = mkdtempSync(join(tmpdir(), 'sfleet-tickets-'));
  });
  afterAll(async () => {
    await Promise.all([snow.close(), jira.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('the restarted hub comments on, then resolves, the incident and the issue the first one opened', async () => {
    const clock = new ManualClock();
    const config = alertingConfigSchema.parse({
      channels: [{ type: 'servicenow', instance: 'company.service-now.com', url: snow.url, ...SNOW }, { type: 'jira', url: jira.url, project: 'HPC', issue_type: 'Bug', ...JIRA }],
      policies: { critical: { escalation_time: '5m', channels: ['servicenow', 'jira'] } },
      group_wait: 0,
      resolve_timeout: '1h',
    });
    const hub = () => new Alerting(config, { state: new Fleet(clock).state, logger, clock, region: 'eu', dataDir: dir, sleep: async () => undefined });
    const first = hub();
    first.receive([{ labels: { alertname: 'GpuXidErrors', severity: 'critical', cluster: 'c1' }, annotations: { summary: 'XID 79 on gpu07' } }], 'prometheus');
    await first.idle();
    await first.close();
    expect(snow.incidents.size).toBe(1);
    expect(jira.issues.size).toBe(1);

    const second = hub();
    clock.advance(5 * 60_000 + 1);
    await second.tick(); // the policy's repeat, 5 min on
    await second.idle();
    second.resolve(second.list({ state: 'firing' })[0].fingerprint, 'ana');
    await second.idle();
    await second.close();
    const [incident] = snow.incidents.values();
    const [issue] = jira.issues.values();
    expect(snow.incidents.size).toBe(1);
    expect(incident).toMatchObject({ short_description: '[critical] XID 79 on gpu07', state: '6' });
    expect(incident.work_notes).toEqual([expect.stringContaining('step 2'), expect.stringContaining('Resolved')]);
    expect(jira.issues.size).toBe(1);
    expect(issue).toMatchObject({ status: 'Done', comments: [expect.stringContaining('step 2'), expect.stringContaining('Resolved in sfleet')] });
    expect([...snow.refused, ...jira.refused]).toEqual([]);
  });
});
