// security.encryption.tls on the alert channels and the Confluence client: with cipher_suites
// ["TLS_AES_256_GCM_SHA384"] a receiver offering only TLS_AES_128_GCM_SHA256 gets no handshake and
// the delivery fails with a reason that names the policy; a receiver offering the allowed suite
// gets the notification (or the page). Real TLS on loopback, the receivers check each request.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../shared/clock/index.js';
import { initCa, issueCertificate, type TlsPolicy } from '../../../shared/tls/index.js';
import { webhookReceiver, type LoopbackReceiver } from '../../../test/harness/alert-receivers.js';
import { ConfluenceReceiver } from '../../../test/harness/confluence-receiver.js';
import { ConfluenceClient, ConfluencePublishError } from '../../confluence/client.js';
import { confluenceConfigSchema } from '../../confluence/config.js';
import { channelSchema, type ChannelConfig } from '../config.js';
import { buildNotifier, Deliverer, DeliveryLog, TicketBook, type Notification } from './index.js';

const POLICY: TlsPolicy = { cipherSuites: ['TLS_AES_256_GCM_SHA384'] };
const SECRET = 'whsec-0123456789';
const TOKEN = 'confluence-token-123';
let pem: { cert: Buffer; key: Buffer };
let caFile: string;
const receivers: LoopbackReceiver[] = [];

const note: Notification = {
  id: 'n-1',
  status: 'firing',
  group_key: 'g',
  dedup_key: 'sfleet-tls',
  severity: 'critical',
  region: 'eu',
  title: '[critical] node n4 of c1 is down',
  text: 'node n4 of c1 is down',
  summary: 'node n4 of c1 is down',
  step: 1,
  group_labels: { alertname: 'node_down', cluster: 'c1' },
  alerts: [{ fingerprint: 'f1', status: 'firing', labels: { alertname: 'node_down', cluster: 'c1' }, summary: 'node n4 of c1 is down', starts_at: new Date(0).toISOString() }],
};

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), `notify-tls-${process.pid}-`));
  await initCa(dir, { trustDomain: 'notify.test' });
  const hub = await issueCertificate(dir, { role: 'hub', name: 'receiver' });
  caFile = join(dir, 'ca.pem');
  pem = { cert: readFileSync(hub.cert), key: readFileSync(hub.key) };
});

afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
});

async function started<T extends LoopbackReceiver>(r: T, suite: string): Promise<T> {
  receivers.push(r);
  return r.start({ ...pem, ciphers: suite });
}

function webhookChannel(url: string, tls: TlsPolicy | undefined) {
  const log = new DeliveryLog(undefined);
  const c = channelSchema.parse({ type: 'webhook', url: `${url}/hook`, secret: SECRET, ca_file: caFile, retries: 0, timeout: '5s' }) as ChannelConfig;
  c.name = 'webhook';
  const channels = new Map([[c.name, { config: c, notifier: buildNotifier(c, { tickets: new TicketBook(), ...(tls ? { tls } : {}) }) }]]);
  return { d: new Deliverer(channels, { log, clock: new ManualClock(), sleep: async () => undefined, random: () => 0.5 }), log };
}

describe('alert channels honour security.encryption.tls.cipher_suites', () => {
  it('a webhook receiver offering only a suite outside the policy is refused with a delivery error naming the policy', async () => {
    const hook = await started(webhookReceiver(SECRET), 'TLS_AES_128_GCM_SHA256');
    const { d, log } = webhookChannel(hook.url, POLICY);
    expect(await d.deliver('webhook', note)).toBe('rejected');
    expect(hook.handshakes).toBe(0);
    expect(hook.accepted).toEqual([]);
    const [record] = log.list();
    expect(record!.outcome).toBe('rejected');
    expect(record!.reason).toContain('TLS handshake failed');
    expect(record!.reason).toContain('TLS_AES_256_GCM_SHA384');
    expect(record!.reason).not.toContain(hook.url);
  });

  it('a receiver offering the allowed suite gets the notification, its certificate checked against ca_file', async () => {
    const hook = await started(webhookReceiver(SECRET), 'TLS_AES_256_GCM_SHA384');
    const { d } = webhookChannel(hook.url, POLICY);
    expect(await d.deliver('webhook', note)).toBe('delivered');
    expect(hook.refused).toEqual([]);
    expect(hook.accepted.map((r) => r.body.dedup_key)).toEqual(['sfleet-tls']);
    expect(hook.handshakes).toBe(1);
  });

  it('without the policy the same channel takes OpenSSL\'s default suites (the policy is what refuses)', async () => {
    const hook = await started(webhookReceiver(SECRET), 'TLS_AES_128_GCM_SHA256');
    const { d } = webhookChannel(hook.url, undefined);
    expect(await d.deliver('webhook', note)).toBe('delivered');
    expect(hook.accepted).toHaveLength(1);
  });

  it('a receiver whose certificate is not signed by ca_file (nor the system CAs) is refused with that reason', async () => {
    const hook = await started(webhookReceiver(SECRET), 'TLS_AES_256_GCM_SHA384');
    const log = new DeliveryLog(undefined);
    const c = channelSchema.parse({ type: 'webhook', url: `${hook.url}/hook`, secret: SECRET, retries: 0 }) as ChannelConfig;
    c.name = 'webhook';
    const d = new Deliverer(new Map([[c.name, { config: c, notifier: buildNotifier(c, { tickets: new TicketBook(), tls: POLICY }) }]]), { log, clock: new ManualClock(), sleep: async () => undefined, random: () => 0.5 });
    expect(await d.deliver('webhook', note)).toBe('rejected');
    expect(log.list()[0]!.reason).toContain('TLS certificate not trusted');
    expect(hook.accepted).toEqual([]);
  });
});

describe('the Confluence client honours security.encryption.tls.cipher_suites', () => {
  const client = (url: string) =>
    new ConfluenceClient(confluenceConfigSchema.parse({ url: `${url}/wiki`, space: 'HPC', token_env: 'CONFLUENCE_TOKEN', ca_file: caFile, retries: 0 }), { env: { CONFLUENCE_TOKEN: TOKEN }, tls: POLICY });

  it('a Confluence offering only a suite outside the policy: the publish fails naming the policy, no page', async () => {
    const wiki = await started(new ConfluenceReceiver(['HPC'], { token: TOKEN }), 'TLS_AES_128_GCM_SHA256');
    const err = await client(wiki.url).publish('Usage 2026-11', '<p>usage</p>').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfluencePublishError);
    expect((err as Error).message).toMatch(/TLS handshake failed.*TLS_AES_256_GCM_SHA384/);
    expect(wiki.handshakes).toBe(0);
    expect(wiki.pages.size).toBe(0);
  });

  it('a Confluence offering the allowed suite gets the page', async () => {
    const wiki = await started(new ConfluenceReceiver(['HPC'], { token: TOKEN }), 'TLS_AES_256_GCM_SHA384');
    const page = await client(wiki.url).publish('Usage 2026-11', '<p>usage</p>');
    expect(page.created).toBe(true);
    expect(wiki.refused).toEqual([]);
    expect(wiki.byTitle('Usage 2026-11')?.storage).toBe('<p>usage</p>');
  });

  it('an answer over 1 MiB is not held: the publish fails as unreadable, and the hub kept reading no further', async () => {
    const wiki = await started(new ConfluenceReceiver(['HPC'], { token: TOKEN }), 'TLS_AES_256_GCM_SHA384');
    wiki.script.push({ status: 200, headers: { 'content-type': 'application/json' }, body: `{"results":[],"pad":"${'x'.repeat(3 << 20)}"}` });
    const err = await client(wiki.url).publish('Usage 2026-12', '<p>usage</p>').catch((e: unknown) => e);
    expect((err as Error).message).toContain(`answer unreadable: over ${1024 * 1024} bytes`);
    expect(wiki.pages.size).toBe(0);
  });
});
