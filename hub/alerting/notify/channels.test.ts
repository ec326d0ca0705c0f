import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../shared/clock/index.js';
import { jiraReceiver, pagerdutyReceiver, servicenowReceiver, slackReceiver, smsGatewayReceiver, SmtpReceiver, webhookReceiver, type HttpReceiver } from '../../../test/harness/alert-receivers.js';
import { channelSchema, type ChannelConfig } from '../config.js';
import { buildNotifier, Deliverer, DeliveryLog, TicketBook, type Notification } from './index.js';

const KEY = 'R0UTINGKEY0123456789abcdefABCDEF';
const SECRET = 'whsec-0123456789';
const note = (status: Notification['status'] = 'firing', extra: Partial<Notification> = {}): Notification => ({
  id: `n-${status}-${Math.random()}`,
  status,
  group_key: 's:critical:{alertname="node_down",cluster="c1"}',
  dedup_key: 'sfleet-abc123',
  severity: 'critical',
  region: 'eu',
  title: '[critical] node n4 of c1 is down: x',
  text: 'node n4 of c1 is down: x (region eu, step 1)',
  summary: 'node n4 of c1 is down: x',
  step: 1,
  group_labels: { alertname: 'node_down', cluster: 'c1' },
  alerts: [{ fingerprint: 'f1', status: 'firing', labels: { alertname: 'node_down', cluster: 'c1', node: 'n4', severity: 'critical' }, summary: 'node n4 of c1 is down: x', starts_at: new Date().toISOString() }],
  ack_url: 'https://hub.example/api/v1/alerts/ack-link?token=a.b',
  ...extra,
});

function deliverer(configs: Record<string, unknown>[], sleeps: number[] = [], tickets = new TicketBook()) {
  const log = new DeliveryLog(undefined);
  const channels = new Map<string, { config: ChannelConfig; notifier: ReturnType<typeof buildNotifier> }>();
  for (const raw of configs) {
    const c = channelSchema.parse(raw) as ChannelConfig;
    c.name = c.name ?? c.type;
    channels.set(c.name, { config: c, notifier: buildNotifier(c, { tickets }) });
  }
  const d = new Deliverer(channels, { log, clock: new ManualClock(), sleep: async (ms) => void sleeps.push(ms), random: () => 0.5 });
  return { d, log, tickets, close: async () => { for (const { notifier } of channels.values()) await notifier.close?.(); } };
}

describe('channels against receivers that check each request as the API documents it', () => {
  let pd: HttpReceiver, slack: HttpReceiver, hook: ReturnType<typeof webhookReceiver>, smtp: SmtpReceiver;
  beforeAll(async () => {
    pd = await pagerdutyReceiver(KEY).start();
    slack = await slackReceiver().start();
    hook = await webhookReceiver(SECRET).start();
    smtp = await new SmtpReceiver('pager', 's3cret').start();
  });
  afterAll(async () => {
    await Promise.all([pd.close(), slack.close(), hook.close(), smtp.close()]);
  });

  it('PagerDuty Events v2: trigger, acknowledge and resolve carry one dedup_key', async () => {
    const { d, log } = deliverer([{ type: 'pagerduty', integration_key: KEY, url: `${pd.url}/v2/enqueue` }]);
    for (const s of ['firing', 'acknowledged', 'resolved'] as const) expect(await d.deliver('pagerduty', note(s))).toBe('delivered');
    expect(pd.refused).toEqual([]);
    expect(pd.accepted.map((r) => [r.body.event_action, r.body.dedup_key])).toEqual([['trigger', 'sfleet-abc123'], ['acknowledge', 'sfleet-abc123'], ['resolve', 'sfleet-abc123']]);
    expect(pd.accepted[0].body.payload).toMatchObject({ severity: 'critical', source: 'c1', component: 'n4' });
    expect(log.list().map((r) => r.outcome)).toEqual(['delivered', 'delivered', 'delivered']);
  });

  it('a wrong routing key is rejected at once (400), never retried, and the key is not in the log', async () => {
    const { d, log } = deliverer([{ type: 'pagerduty', integration_key: 'WRONG-KEY-xyz', url: `${pd.url}/v2/enqueue` }]);
    expect(await d.deliver('pagerduty', note())).toBe('rejected');
    expect(log.list()).toHaveLength(1);
    expect(JSON.stringify(log.list())).not.toContain('WRONG-KEY-xyz');
  });

  it('429 with Retry-After waits as told; 500 retries with backoff up to `retries`; a hanging receiver times out', async () => {
    const sleeps: number[] = [];
    const { d, log } = deliverer([{ type: 'pagerduty', integration_key: KEY, url: `${pd.url}/v2/enqueue`, retries: 2, backoff: '1s', timeout: '300ms' }], sleeps);
    pd.script.push({ status: 429, headers: { 'retry-after': '7' } });
    expect(await d.deliver('pagerduty', note())).toBe('delivered');
    expect(sleeps).toEqual([7_000]);
    pd.script.push({ status: 500 }, { status: 502 }, { status: 503 });
    expect(await d.deliver('pagerduty', note())).toBe('failed');
    expect(sleeps.slice(1)).toEqual([750, 1_500]); // 1s and 2s, half plus jitter (random 0.5)
    pd.script.push('hang');
    expect(await d.deliver('pagerduty', note())).toBe('delivered');
    const hung = log.list().at(-2)!;
    expect(hung).toMatchObject({ outcome: 'retry', reason: 'timed out' });
  });

  it('Slack: Block Kit with a header, the text and an Acknowledge button', async () => {
    const { d } = deliverer([{ type: 'slack', webhook: 'https://hooks.slack.com/services/T/B/secret', url: `${slack.url}/services/T/B/secret` }]);
    expect(await d.deliver('slack', note())).toBe('delivered');
    expect(slack.refused).toEqual([]);
    const blocks = slack.accepted[0].body.blocks as { type: string; elements?: { url?: string }[] }[];
    expect(blocks.map((b) => b.type)).toEqual(['header', 'section', 'context', 'actions']);
    expect(blocks[3].elements?.[0].url).toBe(note().ack_url);
  });

  it('webhook: a valid HMAC-SHA256 signature and one Idempotency-Key per notification; a wrong secret is refused', async () => {
    const { d } = deliverer([{ type: 'webhook', url: `${hook.url}/hook`, secret: SECRET }, { type: 'webhook', name: 'forged', url: `${hook.url}/hook`, secret: 'not-the-secret' }]);
    const n = note();
    expect(await d.deliver('webhook', n)).toBe('delivered');
    expect(hook.accepted[0].headers['idempotency-key']).toBe(n.id);
    expect(hook.accepted[0].body).toMatchObject({ version: '1', status: 'firing', dedup_key: 'sfleet-abc123' });
    expect(await d.deliver('forged', note())).toBe('rejected');
    expect(hook.refused.at(-1)?.why).toBe('bad signature');
  });

  it('webhook with format alertmanager: Alertmanager\'s version 4 payload, signed, with the Idempotency-Key; resolved too; an acknowledgement is not sent', async () => {
    const { d } = deliverer([{ type: 'webhook', name: 'am', url: `${hook.url}/hook`, secret: SECRET, format: 'alertmanager' }]);
    const before = hook.accepted.length;
    const n = note();
    expect(await d.deliver('am', n)).toBe('delivered');
    const got = hook.accepted[before];
    expect(got.headers['idempotency-key']).toBe(n.id);
    expect(got.body).toEqual({
      version: '4',
      groupKey: n.group_key,
      truncatedAlerts: 0,
      status: 'firing',
      receiver: 'am',
      groupLabels: n.group_labels,
      commonLabels: n.alerts[0].labels,
      commonAnnotations: { summary: n.alerts[0].summary },
      externalURL: new URL(n.ack_url!).origin,
      alerts: [{ status: 'firing', labels: n.alerts[0].labels, annotations: { summary: n.alerts[0].summary }, startsAt: n.alerts[0].starts_at ?? '0001-01-01T00:00:00Z', endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: n.alerts[0].fingerprint }],
    });
    expect(await d.deliver('am', note('acknowledged'))).toBe('delivered');
    expect(hook.accepted.length).toBe(before + 1);
    expect(await d.deliver('am', note('resolved'))).toBe('delivered');
    expect(hook.accepted[before + 1].body).toMatchObject({ version: '4', status: 'resolved' });
  });

  it('e-mail over a real SMTP server with AUTH: text and HTML with the ack link; a wrong password is rejected', async () => {
    const { d, close } = deliverer([
      { type: 'email', endpoint: 'oncall@example.com', from: 'sfleet@example.com', smtp: { host: '127.0.0.1', port: smtp.port, username: 'pager', password: 's3cret' } },
      { type: 'email', name: 'badauth', endpoint: 'oncall@example.com', smtp: { host: '127.0.0.1', port: smtp.port, username: 'pager', password: 'wrong' } },
    ]);
    expect(await d.deliver('email', note())).toBe('delivered');
    expect(smtp.mails).toHaveLength(1);
    expect(smtp.mails[0]).toMatchObject({ from: 'sfleet@example.com', to: ['oncall@example.com'], user: 'pager' });
    expect(smtp.mails[0].data).toContain('Subject: [FIRING] [critical] node n4 of c1 is down: x');
    expect(smtp.mails[0].data).toContain('text/html');
    expect(smtp.mails[0].data).toContain('Acknowledge');
    expect(await d.deliver('badauth', note())).toBe('rejected');
    await close();
  });

  it('an unreachable SMTP server is retried, then failed, with the reason in the log', async () => {
    const sleeps: number[] = [];
    const { d, log, close } = deliverer([{ type: 'email', endpoint: 'oncall@example.com', retries: 1, smtp: { host: '127.0.0.1', port: 9 } }], sleeps);
    expect(await d.deliver('email', note())).toBe('failed');
    expect(log.list().map((r) => r.outcome)).toEqual(['retry', 'failed']);
    expect(log.list()[0].reason).toMatch(/ECONNREFUSED|ESOCKET|ECONNECTION/);
    await close();
  });
});

const SNOW = { username: 'sfleet', password: 'snow-pass-0123' };
const JIRA = { username: 'pager@company.com', password: 'jira-api-token-0123' };
const SMS_TOKEN = 'sms-token-0123456';

describe('ServiceNow: one incident per episode, kept by sys_id', () => {
  let snow: ReturnType<typeof servicenowReceiver>;
  beforeAll(async () => void (snow = await servicenowReceiver(SNOW).start()));
  afterAll(async () => snow.close());
  const config = (extra: Record<string, unknown> = {}) => ({ type: 'servicenow', instance: 'company.service-now.com', url: snow.url, ...SNOW, assignment_group: 'HPC Ops', ...extra });

  it('creates the incident, adds work notes on the repeat and the acknowledgement (which sets In Progress), and resolves it with close_code and close_notes', async () => {
    const { d, tickets } = deliverer([config()]);
    const n = note('firing', { dedup_key: 'sfleet-snow-1' });
    expect(await d.deliver('servicenow', n)).toBe('delivered');
    expect(await d.deliver('servicenow', { ...n, id: 'n2', step: 2 })).toBe('delivered');
    expect([...snow.incidents.values()].find((i) => i.correlation_id === 'sfleet-snow-1')?.state).toBe('1'); // New
    expect(await d.deliver('servicenow', note('acknowledged', { dedup_key: 'sfleet-snow-1', acked_by: 'ana' }))).toBe('delivered');
    expect(snow.refused).toEqual([]);
    const incidents = [...snow.incidents.values()].filter((i) => i.correlation_id === 'sfleet-snow-1');
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ short_description: n.title, urgency: '1', impact: '1', assignment_group: 'HPC Ops', state: '2' });
    expect(incidents[0].work_notes).toEqual([expect.stringContaining('step 2'), 'Acknowledged in sfleet by ana.']);
    expect(tickets.get('servicenow', 'sfleet-snow-1')).toBe(incidents[0].sys_id);
    expect(await d.deliver('servicenow', note('resolved', { dedup_key: 'sfleet-snow-1' }))).toBe('delivered');
    expect(incidents[0]).toMatchObject({ state: '6', close_code: 'Solved (Permanently)', close_notes: expect.stringContaining('node n4 of c1 is down') });
    expect(tickets.get('servicenow', 'sfleet-snow-1')).toBeUndefined();
  });

  it('a redelivery after a failover that lost the sys_id finds the open incident by correlation_id instead of opening a second', async () => {
    const first = deliverer([config()]);
    expect(await first.d.deliver('servicenow', note('firing', { dedup_key: 'sfleet-snow-2' }))).toBe('delivered');
    const next = deliverer([config()]); // a new leader with no record of the answer
    expect(await next.d.deliver('servicenow', note('firing', { dedup_key: 'sfleet-snow-2', possible_duplicate: true }))).toBe('delivered');
    expect(await next.d.deliver('servicenow', note('resolved', { dedup_key: 'sfleet-snow-2' }))).toBe('delivered');
    const incidents = [...snow.incidents.values()].filter((i) => i.correlation_id === 'sfleet-snow-2');
    expect(incidents.map((i) => i.state)).toEqual(['6']);
  });

  it('an acknowledgement redelivered after the resolve (a failover) never moves the resolved incident back', async () => {
    const first = deliverer([config()]);
    expect(await first.d.deliver('servicenow', note('firing', { dedup_key: 'sfleet-snow-3' }))).toBe('delivered');
    expect(await first.d.deliver('servicenow', note('resolved', { dedup_key: 'sfleet-snow-3' }))).toBe('delivered');
    // A new leader resends the acknowledgement it could not see settled: the incident is resolved (still active in ServiceNow).
    const next = deliverer([config()]);
    expect(await next.d.deliver('servicenow', note('acknowledged', { dedup_key: 'sfleet-snow-3', acked_by: 'ana', possible_duplicate: true }))).toBe('delivered');
    expect([...snow.incidents.values()].filter((i) => i.correlation_id === 'sfleet-snow-3').map((i) => i.state)).toEqual(['6']);
  });

  it('an OAuth bearer token authenticates; wrong credentials are rejected once, without the password in the log', async () => {
    const bearer = await servicenowReceiver({ token: 'oauth-access-token-xyz' }).start();
    const { d, log } = deliverer([{ type: 'servicenow', instance: 'x.service-now.com', url: bearer.url, token: 'oauth-access-token-xyz' }, { type: 'servicenow', name: 'wrong', instance: 'x.service-now.com', url: bearer.url, username: 'u', password: 'not-the-password' }]);
    expect(await d.deliver('servicenow', note())).toBe('delivered');
    expect(await d.deliver('wrong', note())).toBe('rejected');
    expect(log.list({ channel: 'wrong' })).toMatchObject([{ outcome: 'rejected', reason: expect.stringContaining('User Not Authenticated') }]);
    expect(JSON.stringify(log.list())).not.toMatch(/not-the-password|oauth-access-token-xyz/);
    await bearer.close();
  });
});

describe('Jira: one issue per episode, comments on repeats, the resolve transition looked up by name', () => {
  let jira: ReturnType<typeof jiraReceiver>;
  beforeAll(async () => void (jira = await jiraReceiver(JIRA, 'HPC').start()));
  afterAll(async () => jira.close());
  const config = (extra: Record<string, unknown> = {}) => ({ type: 'jira', url: jira.url, project: 'HPC', issue_type: 'Bug', ...JIRA, ...extra });

  it('creates, comments on the repeat and the acknowledgement, and applies the transition named Done on resolve', async () => {
    const { d, tickets } = deliverer([config()]);
    expect(await d.deliver('jira', note('firing', { dedup_key: 'sfleet-jira-1', title: 'line one\nline two' }))).toBe('delivered');
    const key = tickets.get('jira', 'sfleet-jira-1')!;
    expect(await d.deliver('jira', note('firing', { dedup_key: 'sfleet-jira-1', step: 2 }))).toBe('delivered');
    expect(await d.deliver('jira', note('acknowledged', { dedup_key: 'sfleet-jira-1', acked_by: 'ben' }))).toBe('delivered');
    expect(await d.deliver('jira', note('resolved', { dedup_key: 'sfleet-jira-1' }))).toBe('delivered');
    expect(jira.refused).toEqual([]);
    const issue = jira.issues.get(key)!;
    expect(issue.fields).toMatchObject({ project: { key: 'HPC' }, issuetype: { name: 'Bug' }, summary: 'line one line two', labels: ['sfleet', 'sfleet-jira-1'] });
    expect(issue.status).toBe('Done');
    expect(issue.comments).toEqual([expect.stringContaining('step 2'), 'Acknowledged in sfleet by ben.', expect.stringContaining('Resolved in sfleet')]);
    expect(jira.accepted.filter((r) => r.path.endsWith('/transitions')).map((r) => [r.method, r.body.transition])).toEqual([['GET', undefined], ['POST', { id: '761' }]]);
  });

  it('a resolve transition the workflow does not offer is rejected with the names it offers; a failover redelivery finds the issue by its label', async () => {
    const { d } = deliverer([config({ resolve_transition: 'Close Issue' })]);
    expect(await d.deliver('jira', note('firing', { dedup_key: 'sfleet-jira-2' }))).toBe('delivered');
    const next = deliverer([config({ resolve_transition: 'Close Issue' })]);
    expect(await next.d.deliver('jira', note('firing', { dedup_key: 'sfleet-jira-2', possible_duplicate: true }))).toBe('delivered');
    expect([...jira.issues.values()].filter((i) => (i.fields.labels as string[]).includes('sfleet-jira-2'))).toHaveLength(1);
    expect(await next.d.deliver('jira', note('resolved', { dedup_key: 'sfleet-jira-2' }))).toBe('rejected');
    expect(next.log.list().at(-1)?.reason).toMatch(/offers no transition named "Close Issue"; it offers: Start Progress, Done/);
  });

  it('Jira Data Center (no /search/jql): a failover redelivery finds the issue through /search instead of opening a second', async () => {
    const dc = await jiraReceiver(JIRA, 'HPC', ['Bug'], { dataCenter: true }).start();
    try {
      const cfg = { type: 'jira', url: dc.url, project: 'HPC', issue_type: 'Bug', ...JIRA };
      expect(await deliverer([cfg]).d.deliver('jira', note('firing', { dedup_key: 'sfleet-jira-dc' }))).toBe('delivered');
      const next = deliverer([cfg]);
      expect(await next.d.deliver('jira', note('firing', { dedup_key: 'sfleet-jira-dc', possible_duplicate: true }))).toBe('delivered');
      expect(dc.issues.size).toBe(1);
      expect(dc.accepted.filter((r) => r.path === '/rest/api/2/search')).toHaveLength(1);
      expect(dc.refused.map((r) => r.why)).toEqual([expect.stringContaining('no REST resource at GET /rest/api/2/search/jql')]);
    } finally {
      await dc.close();
    }
  });

  it('a project key the site does not have is rejected with Jira\'s field error', async () => {
    const { d, log } = deliverer([config({ project: 'NOPE' })]);
    expect(await d.deliver('jira', note())).toBe('rejected');
    expect(log.list()[0].reason).toContain('valid project is required');
  });
});

describe('SMS through an HTTP gateway', () => {
  let gw: ReturnType<typeof smsGatewayReceiver>;
  beforeAll(async () => void (gw = await smsGatewayReceiver(SMS_TOKEN).start()));
  afterAll(async () => gw.close());
  const auth = { authorization: `Bearer ${SMS_TOKEN}` };

  it('texts every number once as JSON; a contact\'s number replaces them; a 500 on the second number retries only that one', async () => {
    const { d } = deliverer([{ type: 'sms', url: `${gw.url}/send`, headers: auth, to: ['+4915100000001', '+4915100000002'] }]);
    expect(await d.deliver('sms', note('firing', { title: 'node "n4" down' }))).toBe('delivered');
    expect(gw.texts.map((t) => t.to)).toEqual(['+4915100000001', '+4915100000002']);
    expect(gw.texts[0].message).toBe(`FIRING: node "n4" down Ack: ${note().ack_url}`);
    expect(await d.deliver('sms', note('resolved', { to: '+4915100000009' }))).toBe('delivered');
    expect(gw.texts.at(-1)).toEqual({ to: '+4915100000009', message: 'RESOLVED: [critical] node n4 of c1 is down: x' });
    gw.texts.length = 0;
    // The first number answers; the second fails once: the retry texts the second only.
    gw.script.push({ status: 200, body: '{}' }, { status: 503 });
    expect(await d.deliver('sms', note())).toBe('delivered');
    expect(gw.texts.map((t) => t.to)).toEqual(['+4915100000002']);
  });

  it('a GET gateway gets the form-encoded body as its query string; a text template shapes the message', async () => {
    const { d } = deliverer([
      { type: 'sms', url: `${gw.url}/cgi-bin/sendsms`, method: 'GET', content_type: 'form', body: 'to={{to}}&message={{status}} {{summary}}', headers: auth, to: ['+4915100000003'] },
      { type: 'sms', name: 'short', url: `${gw.url}/cgi-bin/sendsms?route=2`, method: 'GET', content_type: 'form', body: 'to={{to}}&message={{message}}', text: '{{alertname}} on {{cluster}} & more', headers: auth, to: ['+4915100000003'] },
    ]);
    expect(await d.deliver('sms', note())).toBe('delivered');
    expect(gw.texts.at(-1)).toEqual({ to: '+4915100000003', message: 'firing node n4 of c1 is down: x' });
    // The channel's notifications are rendered by alerting.ts; here the text as it would arrive.
    expect(await d.deliver('short', note('resolved', { text: 'node_down on c1 & more' }))).toBe('delivered');
    expect(gw.texts.at(-1)).toEqual({ to: '+4915100000003', message: 'RESOLVED: node_down on c1 & more' });
  });
});

// Every HTTP channel behind the one delivery stage: 429 Retry-After, bounded retries on 5xx, a
// hanging receiver, and no secret in the delivery log even when a receiver echoes it.
describe('the channel contract, over every HTTP channel', () => {
  const receivers: { close(): Promise<void> }[] = [];
  afterAll(async () => Promise.all(receivers.map((r) => r.close())));
  const cases: [string, () => Promise<{ r: { script: unknown[] }; config: Record<string, unknown>; secrets: string[] }>][] = [
    ['pagerduty', async () => { const r = await pagerdutyReceiver(KEY).start(); receivers.push(r); return { r, config: { type: 'pagerduty', integration_key: KEY, url: `${r.url}/v2/enqueue` }, secrets: [KEY] }; }],
    ['slack', async () => { const r = await slackReceiver().start(); receivers.push(r); return { r, config: { type: 'slack', webhook: 'https://hooks.slack.com/services/T/B/slack-secret-path', url: `${r.url}/services/T/B/slack-secret-path` }, secrets: ['slack-secret-path'] }; }],
    ['webhook', async () => { const r = webhookReceiver(SECRET); await r.start(); receivers.push(r); return { r, config: { type: 'webhook', url: `${r.url}/hook`, secret: SECRET }, secrets: [SECRET] }; }],
    ['servicenow', async () => { const r = await servicenowReceiver(SNOW).start(); receivers.push(r); return { r, config: { type: 'servicenow', instance: 'c.service-now.com', url: r.url, ...SNOW }, secrets: [SNOW.password] }; }],
    ['jira', async () => { const r = await jiraReceiver(JIRA, 'HPC').start(); receivers.push(r); return { r, config: { type: 'jira', url: r.url, project: 'HPC', ...JIRA }, secrets: [JIRA.password] }; }],
    ['sms', async () => { const r = await smsGatewayReceiver(SMS_TOKEN).start(); receivers.push(r); return { r, config: { type: 'sms', url: r.url, headers: { authorization: `Bearer ${SMS_TOKEN}` }, to: ['+4915100000001'] }, secrets: [SMS_TOKEN] }; }],
  ];
  for (const [type, setup] of cases) {
    it(`${type}: waits as a 429 says, retries 5xx with backoff up to retries, times out a hanging receiver, and logs no secret`, async () => {
      const { r, config, secrets } = await setup();
      const sleeps: number[] = [];
      // The timeout is for the hanging receiver; an answer on a loaded machine must not reach it (a timeout is retried with backoff).
      const { d, log } = deliverer([{ ...config, retries: 2, backoff: '1s', timeout: '2s' }], sleeps);
      r.script.push({ status: 429, headers: { 'retry-after': '4' } });
      expect(await d.deliver(type, note())).toBe('delivered');
      expect(sleeps).toEqual([4_000]);
      r.script.push({ status: 500, body: `echo ${secrets.join(' ')}` }, { status: 502 }, { status: 503 });
      expect(await d.deliver(type, note())).toBe('failed');
      expect(sleeps.slice(1)).toEqual([750, 1_500]);
      r.script.push('hang');
      expect(await d.deliver(type, note())).toBe('delivered');
      expect(log.list().filter((x) => x.reason === 'timed out')).toHaveLength(1);
      r.script.push({ status: 400, body: `bad request: ${secrets.join(' ')}` });
      expect(await d.deliver(type, note())).toBe('rejected');
      const text = JSON.stringify(log.list());
      for (const s of secrets) expect(text).not.toContain(s);
      expect(text).toContain('<redacted>');
    });
  }
});
