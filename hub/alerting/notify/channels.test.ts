import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../shared/clock/index.js';
import { pagerdutyReceiver, slackReceiver, SmtpReceiver, webhookReceiver, type HttpReceiver } from '../../../test/harness/alert-receivers.js';
import { channelSchema, type ChannelConfig } from '../config.js';
import { buildNotifier, Deliverer, DeliveryLog, type Notification } from './index.js';

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

function deliverer(configs: Record<string, unknown>[], sleeps: number[] = []) {
  const log = new DeliveryLog(undefined);
  const channels = new Map<string, { config: ChannelConfig; notifier: ReturnType<typeof buildNotifier> }>();
  for (const raw of configs) {
    const c = channelSchema.parse(raw) as ChannelConfig;
    c.name = c.name ?? c.type;
    channels.set(c.name, { config: c, notifier: buildNotifier(c) });
  }
  const d = new Deliverer(channels, { log, clock: new ManualClock(), sleep: async (ms) => void sleeps.push(ms), random: () => 0.5 });
  return { d, log, close: async () => { for (const { notifier } of channels.values()) await notifier.close?.(); } };
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
