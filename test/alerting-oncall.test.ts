// On-call escalation against a real hub (no Slurm): a full-form policy notifies a webhook in
// step 1 and, unacknowledged after its wait, the on-call user of a weekly schedule in step 2
// through that user's e-mail contact on a real SMTP server with AUTH; `sfleet alerts ack` stops
// the escalation and both hear the acknowledgement; `sfleet oncall` shows who is on call and the
// next 4 hand-offs. The alert comes through the Alertmanager intake over mutual TLS.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmtpReceiver, webhookReceiver } from './harness/alert-receivers.js';
import { freePort } from './harness/ports.js';
import { assertBuilt, sfleet, SfleetProcess } from './harness/sfleet-process.js';
import { waitFor } from './harness/wait.js';

const SECRET = 'whsec-oncall-0123456789';
const DAY = 86_400_000;
const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
let work: string;
let pki: string;
let httpPort: number;
let hub: SfleetProcess;
let hook: ReturnType<typeof webhookReceiver>;
let smtp: SmtpReceiver;
let clientEnv: NodeJS.ProcessEnv;
// A rotation of three handing off at 00:00 UTC on today's weekday, started two weeks ago today:
// cem (users[2]) is on call since today 00:00; the hand-offs follow every 7 days.
const today = new Date(Math.floor(Date.now() / DAY) * DAY);
const start = new Date(today.getTime() - 14 * DAY);

function postAlerts(body: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: httpPort, path: '/api/v2/alerts', method: 'POST', headers: { 'content-type': 'application/json' }, ca: readFileSync(`${pki}/ca.pem`), cert: readFileSync(`${pki}/operator.pem`), key: readFileSync(`${pki}/operator-key.pem`) },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

beforeAll(async () => {
  assertBuilt();
  hook = await webhookReceiver(SECRET).start();
  smtp = await new SmtpReceiver('pager', 'smtp-s3cret').start();
  work = mkdtempSync(join(tmpdir(), 'sfleet-alerting-oncall-'));
  pki = join(work, 'pki');
  const env = { ...process.env };
  await sfleet(['ca', 'init', '--dir', pki, '--trust-domain', 'alerting-oncall.test'], env);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'hub', '--name', 'hub1'], env);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'client', '--name', 'operator'], env);
  httpPort = await freePort();
  const hubConfig = {
    listen: { grpc: `127.0.0.1:${await freePort()}`, http: `127.0.0.1:${httpPort}` },
    tls: { ca: `${pki}/ca.pem`, cert: `${pki}/hub1.pem`, key: `${pki}/hub1-key.pem` },
    data_dir: `${work}/hub-data`,
    rbac: { roles: { oncall: { permissions: ['alerts:*', 'silences:*', 'schedules:read'] } }, bindings: [{ client: 'operator', role: 'oncall' }] },
    alerting: {
      evaluation_interval: '1s',
      group_wait: '0s',
      channels: [
        { type: 'webhook', name: 'noc', url: `${hook.url}/hook`, secret: '${NOC_SECRET}' },
        { type: 'email', endpoint: 'hpc-team@example.com', from: 'sfleet@example.com', smtp: { host: '127.0.0.1', port: smtp.port, username: 'pager', password: '${SMTP_PASSWORD}' } },
      ],
      users: {
        ana: { contacts: [{ channel: 'email', address: 'ana@example.com' }] },
        ben: { contacts: [{ channel: 'email', address: 'ben@example.com' }] },
        cem: { contacts: [{ channel: 'email', address: 'cem@example.com' }] },
      },
      schedules: { hpc: { users: ['ana', 'ben', 'cem'], handoff: { day: WEEKDAYS[today.getUTCDay()], time: '00:00' }, time_zone: 'UTC', start: start.toISOString().slice(0, 10) } },
      policies: { critical: { steps: [{ channels: ['noc'], wait: '3s' }, { schedules: ['hpc'], wait: '3s' }], repeat: 10 } },
    },
  };
  writeFileSync(join(work, 'hub.yaml'), JSON.stringify(hubConfig));
  hub = new SfleetProcess(['hub', '--config', join(work, 'hub.yaml')], join(work, 'hub.log'), { ...process.env, NOC_SECRET: SECRET, SMTP_PASSWORD: 'smtp-s3cret' }).start();
  clientEnv = { ...process.env, SFLEET_HUB: `https://127.0.0.1:${httpPort}`, SFLEET_CA: `${pki}/ca.pem`, SFLEET_CERT: `${pki}/operator.pem`, SFLEET_KEY: `${pki}/operator-key.pem`, SFLEET_CONFIG: join(work, 'contexts.yaml') };
  await waitFor('hub answers', async () => (await sfleet(['oncall', '-o', 'json'], clientEnv).catch(() => undefined)) !== undefined, 30_000, 250);
}, 120_000);

afterAll(async () => {
  await hub?.kill('SIGTERM');
  await hook?.close();
  await smtp?.close();
});

describe('on-call escalation on a real hub', () => {
  it('sfleet oncall shows who is on call now and the next 4 hand-offs', async () => {
    const [s] = JSON.parse(await sfleet(['oncall', '-o', 'json'], clientEnv)) as { name: string; on_call: string; next_handoffs: { at: string; from: string; to: string }[] }[];
    const at = (weeks: number) => new Date(today.getTime() + weeks * 7 * DAY).toISOString();
    expect(s).toMatchObject({ name: 'hpc', on_call: 'cem' });
    expect(s.next_handoffs).toEqual([
      { at: at(1), from: 'cem', to: 'ana' },
      { at: at(2), from: 'ana', to: 'ben' },
      { at: at(3), from: 'ben', to: 'cem' },
      { at: at(4), from: 'cem', to: 'ana' },
    ]);
    const table = await sfleet(['oncall'], clientEnv);
    expect(table.split('\n')[0]).toMatch(/^SCHEDULE\s+WHEN\s+LOCAL\s+ON CALL\s+NOTE$/);
    expect(table).toMatch(/hpc\s+now\s+-\s+cem/);
    expect(table).toContain(`${at(1)}  ${new Date(at(1)).toUTCString().slice(0, 3)}`);
    await expect(sfleet(['oncall', 'nope'], clientEnv)).rejects.toThrow('no schedule "nope"; schedules: hpc');
  });

  it('step 1 pages the webhook; unacknowledged, step 2 mails the on-call user; sfleet alerts ack stops it and both hear it', async () => {
    expect(await postAlerts([{ labels: { alertname: 'GpuXidErrors', severity: 'critical', cluster: 'lab' }, annotations: { summary: 'XID errors on gpu07' } }])).toBe(200);
    await waitFor('step 1 at the webhook', async () => hook.accepted.length >= 1, 30_000, 100);
    expect(hook.refused).toEqual([]);
    expect(hook.accepted[0].body).toMatchObject({ status: 'firing', step: 1, policy: 'critical', summary: 'XID errors on gpu07' });
    expect(smtp.mails).toHaveLength(0); // step 1 waits 3 s before the on-call is paged
    await waitFor('step 2 mail to the on-call user', async () => smtp.mails.length >= 1, 30_000, 100);
    expect(smtp.mails[0]).toMatchObject({ to: ['cem@example.com'], user: 'pager', from: 'sfleet@example.com' });
    expect(smtp.mails[0].data).toContain('Subject: [FIRING #2] [critical] XID errors on gpu07');

    const deliveries = JSON.parse(await sfleet(['alerts', 'deliveries', '-o', 'json'], clientEnv)) as { channel: string; recipient?: string; outcome: string }[];
    expect(deliveries.find((d) => d.channel === 'email')).toMatchObject({ recipient: 'cem', outcome: 'delivered' });
    expect(JSON.stringify(deliveries)).not.toContain('cem@example.com'); // the log names the user, not the address

    const [alert] = JSON.parse(await sfleet(['alerts', 'list', '--state', 'firing', '-o', 'json'], clientEnv)) as { fingerprint: string }[];
    await sfleet(['alerts', 'ack', alert.fingerprint], clientEnv);
    await waitFor('acknowledgement to the webhook and the on-call user', async () => hook.accepted.some((r) => r.body.status === 'acknowledged') && smtp.mails.some((m) => m.data.includes('[ACKNOWLEDGED]')), 30_000, 100);
    expect(smtp.mails.find((m) => m.data.includes('[ACKNOWLEDGED]'))?.to).toEqual(['cem@example.com']);
    const firing = () => hook.accepted.filter((r) => r.body.status === 'firing').length + smtp.mails.filter((m) => m.data.includes('[FIRING')).length;
    const before = firing();
    // Two steps' waits (3 s each) pass: nothing more is sent.
    await new Promise((r) => setTimeout(r, 7_000));
    expect(firing()).toBe(before);
    const [acked] = JSON.parse(await sfleet(['alerts', 'list', '-o', 'json'], clientEnv)) as { groups: { acked_by: string | null }[] }[];
    expect(acked.groups[0].acked_by).toBe('operator');
  }, 90_000);
});
