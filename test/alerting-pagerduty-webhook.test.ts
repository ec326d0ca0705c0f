// PagerDuty's signed v3 webhooks act on a real hub (issue 13 item 4: "ack and resolve there act
// here"). The hub pages a local receiver that checks PagerDuty Events API v2; a local sender plays
// PagerDuty's webhook side: it builds v3 payloads as PagerDuty documents them (event.id,
// event_type, agent, data.incident_key = the Events API dedup_key) and signs the raw body with
// the subscription's secret (X-PagerDuty-Signature: v1=<hex HMAC-SHA256>). An acknowledgement
// there stops the escalation here (no step 2), a resolve there ends the alert here, and a
// delivery with a bad signature changes nothing.
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pagerdutyReceiver, slackReceiver, type HttpReceiver } from './harness/alert-receivers.js';
import { freePort } from './harness/ports.js';
import { assertBuilt, sfleet, SfleetProcess } from './harness/sfleet-process.js';
import { waitFor } from './harness/wait.js';

const PD_KEY = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const WEBHOOK_SECRET = 'pd-v3-subscription-secret-7f3a9c';
const ESCALATION_MS = 6_000;
let work: string;
let hub: SfleetProcess;
let pd: HttpReceiver;
let slack: HttpReceiver;
let base: string;
let ca: Buffer;

/** PagerDuty's side: one v3 webhook delivery, signed as documented (several secrets during a rotation). */
function deliver(body: string, secrets: string[] | null): Promise<{ status: number; json: Record<string, unknown> }> {
  const raw = Buffer.from(body, 'utf8');
  const signature = secrets?.map((s) => `v1=${createHmac('sha256', s).update(raw).digest('hex')}`).join(',');
  return new Promise((resolve, reject) => {
    const req = request(`${base}/api/v1/alerts/pagerduty/webhook`, {
      method: 'POST',
      ca,
      minVersion: 'TLSv1.3',
      headers: { 'content-type': 'application/json', 'content-length': String(raw.length), 'user-agent': 'PagerDuty-Webhook/V3.0', ...(signature ? { 'x-pagerduty-signature': signature } : {}) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(raw);
  });
}

function incidentEvent(type: 'incident.acknowledged' | 'incident.resolved', incidentKey: string, agent: string, id = randomUUID()): string {
  return JSON.stringify({
    event: {
      id,
      event_type: type,
      resource_type: 'incident',
      occurred_at: new Date().toISOString(),
      agent: { html_url: 'https://acme.pagerduty.com/users/PLH1HKV', id: 'PLH1HKV', self: 'https://api.pagerduty.com/users/PLH1HKV', summary: agent, type: 'user_reference' },
      client: null,
      data: { id: 'PGR0VU2', type: 'incident', self: 'https://api.pagerduty.com/incidents/PGR0VU2', number: 42, status: type.split('.')[1], incident_key: incidentKey, title: 'PdWebhook on lab', urgency: 'high' },
    },
  });
}

interface AlertJson { labels: Record<string, string>; state: string; resolved_by?: string; groups: { dedup_key: string; acked_by: string | null }[] }
const alerts = async (): Promise<AlertJson[]> => (await api<{ items: AlertJson[] }>('GET', '/api/v1/alerts')).items;
const pdOf = (dedup: string, action: string) => pd.accepted.filter((r) => r.body.dedup_key === dedup && r.body.event_action === action);

async function page(name: string): Promise<string> {
  await api('POST', '/api/v2/alerts', [{ labels: { alertname: name, severity: 'critical', cluster: 'lab' }, annotations: { summary: `${name} on lab` } }]);
  let dedup = '';
  await waitFor(`${name} paged PagerDuty`, () => {
    const t = pd.accepted.find((r) => r.body.event_action === 'trigger' && JSON.stringify(r.body).includes(`${name} on lab`));
    dedup = String(t?.body.dedup_key ?? '');
    return !!dedup;
  }, 30_000, 100);
  return dedup;
}

/** The hub's API as the operator client (mTLS). */
async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const pki = join(work, 'pki');
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise<T>((resolve, reject) => {
    const req = request(`${base}${path}`, { method, ca, cert: readFileSync(`${pki}/operator.pem`), key: readFileSync(`${pki}/operator-key.pem`), headers: payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) reject(new Error(`${method} ${path} answered ${res.statusCode}: ${text}`));
        else resolve(JSON.parse(text) as T);
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

beforeAll(async () => {
  assertBuilt();
  pd = await pagerdutyReceiver(PD_KEY).start();
  slack = await slackReceiver().start();
  work = mkdtempSync(join(tmpdir(), 'sfleet-alerting-pd-webhook-'));
  const pki = join(work, 'pki');
  const env = { ...process.env };
  await sfleet(['ca', 'init', '--dir', pki, '--trust-domain', 'alerting-pd.test'], env);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'hub', '--name', 'hub1'], env);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'client', '--name', 'operator'], env);
  ca = readFileSync(`${pki}/ca.pem`);
  const httpPort = await freePort();
  base = `https://127.0.0.1:${httpPort}`;
  const hubConfig = {
    listen: { grpc: `127.0.0.1:${await freePort()}`, http: `127.0.0.1:${httpPort}` },
    tls: { ca: `${pki}/ca.pem`, cert: `${pki}/hub1.pem`, key: `${pki}/hub1-key.pem` },
    data_dir: `${work}/hub-data`,
    rbac: { roles: { oncall: { permissions: ['alerts:*', 'silences:*', 'cluster:read', 'audit:read'] } }, bindings: [{ client: 'operator', role: 'oncall' }] },
    alerting: {
      evaluation_interval: '1s',
      group_wait: '0s',
      resolve_timeout: '30m',
      channels: [
        { type: 'pagerduty', integration_key: '${PAGERDUTY_KEY}', url: `${pd.url}/v2/enqueue`, webhook_secret: '${PD_WEBHOOK_SECRET}' },
        { type: 'slack', webhook: `${slack.url}/services/T0001/B0001/abcdefghijklmnop` },
      ],
      policies: { critical: { escalation_time: `${ESCALATION_MS / 1000}s`, channels: ['pagerduty', 'slack'] } },
    },
  };
  writeFileSync(join(work, 'hub.yaml'), JSON.stringify(hubConfig));
  hub = new SfleetProcess(['hub', '--config', join(work, 'hub.yaml')], join(work, 'hub.log'), { ...process.env, PAGERDUTY_KEY: PD_KEY, PD_WEBHOOK_SECRET: WEBHOOK_SECRET }).start();
  await waitFor('hub answers', async () => (await alerts().catch(() => undefined)) !== undefined, 60_000, 250);
}, 120_000);

afterAll(async () => {
  await hub?.kill('SIGTERM');
  await pd?.close();
  await slack?.close();
});

describe('PagerDuty v3 webhooks on a real hub', () => {
  it('a bad signature changes nothing; a signed incident.acknowledged stops the escalation (no step 2); a signed incident.resolved ends the alert', async () => {
    const dedup = await page('PdWebhook');
    const t1 = Date.now();

    // Signed with another secret, unsigned, and a body changed after signing: 401, nothing changes.
    const ack = incidentEvent('incident.acknowledged', dedup, 'Ana Operator');
    expect((await deliver(ack, ['some-other-secret-000'])).status).toBe(401);
    expect((await deliver(ack, null)).status).toBe(401);
    const forged = incidentEvent('incident.resolved', dedup, 'Mallory');
    expect((await deliver(forged.replace('Mallory', 'Ana Operator'), null)).status).toBe(401);
    const afterBad = (await alerts()).find((a) => a.labels.alertname === 'PdWebhook')!;
    expect(afterBad).toMatchObject({ state: 'firing', groups: [{ dedup_key: dedup, acked_by: null }] });

    // Acknowledged in PagerDuty (signed during a secret rotation: old and new signature).
    const acked = await deliver(ack, ['the-previous-secret-11', WEBHOOK_SECRET]);
    expect(acked.status).toBe(200);
    expect(acked.json).toMatchObject({ outcome: 'acknowledged' });
    expect((await alerts()).find((a) => a.labels.alertname === 'PdWebhook')).toMatchObject({ groups: [{ acked_by: 'pagerduty: Ana Operator' }] });
    // Slack hears the acknowledgement, as when an operator acknowledges; PagerDuty gets the acknowledge event of its dedup_key.
    await waitFor('Slack heard the acknowledgement', () => slack.accepted.some((r) => String(r.body.text).startsWith('ACKNOWLEDGED') && JSON.stringify(r.body).includes('PdWebhook')), 20_000, 100);
    // The same delivery again (PagerDuty retries): acts once.
    expect((await deliver(ack, [WEBHOOK_SECRET])).json).toMatchObject({ outcome: 'duplicate' });

    // Past the escalation time, and one more evaluation: no step 2 anywhere.
    await new Promise((r) => setTimeout(r, Math.max(0, t1 + ESCALATION_MS + 3_000 - Date.now())));
    expect(pdOf(dedup, 'trigger')).toHaveLength(1);
    expect(slack.accepted.filter((r) => String(r.body.text).startsWith('FIRING') && JSON.stringify(r.body).includes('PdWebhook'))).toHaveLength(1);

    // Resolved in PagerDuty: the alert is resolved here, by the PagerDuty user, and the resolve goes out.
    const resolved = await deliver(incidentEvent('incident.resolved', dedup, 'Ben On-Call'), [WEBHOOK_SECRET]);
    expect(resolved.status).toBe(200);
    expect(resolved.json).toMatchObject({ outcome: 'resolved' });
    expect((await alerts()).find((a) => a.labels.alertname === 'PdWebhook')).toMatchObject({ state: 'resolved', resolved_by: 'pagerduty: Ben On-Call' });
    await waitFor('PagerDuty got the resolve of the same dedup_key', () => pdOf(dedup, 'resolve').length === 1, 20_000, 100);
    // An incident sfleet never opened: accepted without effect (PagerDuty does not retry it forever).
    const other = await deliver(incidentEvent('incident.acknowledged', 'not-an-sfleet-key', 'Ana Operator'), [WEBHOOK_SECRET]);
    expect(other.status).toBe(202);
    expect(pd.refused).toEqual([]);
    // Every delivery is in the audit log: the refused ones with the reason, the others naming who acted in PagerDuty.
    const records = (await api<{ items: { user: string | null; outcome: string; status: number; reason: string | null; resource: string }[] }>('GET', '/api/v1/audit?action=alerts:pagerduty-webhook')).items;
    expect(records.filter((r) => r.status === 401)).toHaveLength(3);
    expect(records.filter((r) => r.status === 401).every((r) => r.outcome === 'failed' && /X-PagerDuty-Signature/.test(r.reason ?? ''))).toBe(true);
    expect(records.find((r) => r.status === 200 && r.resource.includes('incident.acknowledged'))).toMatchObject({ user: 'pagerduty: Ana Operator', resource: expect.stringContaining(dedup) });
    expect(records.find((r) => r.status === 200 && r.resource.includes('incident.resolved'))).toMatchObject({ user: 'pagerduty: Ben On-Call' });
    // The secret is nowhere in the hub's log or its audit records.
    expect(readFileSync(join(work, 'hub.log'), 'utf8')).not.toContain(WEBHOOK_SECRET);
    expect(JSON.stringify(records)).not.toContain(WEBHOOK_SECRET);
  }, 120_000);
});
