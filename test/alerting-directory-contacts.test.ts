// On-call contacts from the directory on a real hub: alerting.directory_contacts reads the mail of
// users that a schedule or step names (and alerting.users does not) from a real OpenLDAP with
// sso.ldap's service account. alice (on call; mail in her entry) is mailed through a real SMTP
// server with AUTH; bob (named by the step; no mail) is a rejected delivery that names him and the
// attribute. Once bob's entry gets a mail, the next refresh pages him there too. The alerts come
// through the Alertmanager intake over mutual TLS.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmtpReceiver } from './harness/alert-receivers.js';
import { LDAP_PASSWORDS, LDAP_SUFFIX, LdapServer, SERVICE_DN } from './harness/ldap.js';
import { freePort } from './harness/ports.js';
import { assertBuilt, sfleet, SfleetProcess } from './harness/sfleet-process.js';
import { waitFor } from './harness/wait.js';

let work: string;
let pki: string;
let httpPort: number;
let hub: SfleetProcess;
let smtp: SmtpReceiver;
let ldap: LdapServer;
let clientEnv: NodeJS.ProcessEnv;

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

interface Delivery {
  channel: string;
  recipient?: string;
  outcome: string;
  reason?: string;
  group_key: string;
}
const deliveries = async () => JSON.parse(await sfleet(['alerts', 'deliveries', '-o', 'json'], clientEnv)) as Delivery[];

beforeAll(async () => {
  assertBuilt();
  [ldap, smtp] = await Promise.all([LdapServer.create('contacts'), new SmtpReceiver('pager', 'smtp-s3cret').start()]);
  work = mkdtempSync(join(tmpdir(), 'sfleet-directory-contacts-'));
  pki = join(work, 'pki');
  await sfleet(['ca', 'init', '--dir', pki, '--trust-domain', 'directory-contacts.test'], process.env);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'hub', '--name', 'hub1'], process.env);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'client', '--name', 'operator'], process.env);
  httpPort = await freePort();
  const hubConfig = {
    listen: { grpc: `127.0.0.1:${await freePort()}`, http: `127.0.0.1:${httpPort}` },
    tls: { ca: `${pki}/ca.pem`, cert: `${pki}/hub1.pem`, key: `${pki}/hub1-key.pem` },
    data_dir: `${work}/hub-data`,
    rbac: { roles: { oncall: { permissions: ['alerts:*', 'silences:*', 'schedules:read'] } }, bindings: [{ client: 'operator', role: 'oncall' }] },
    sso: { ldap: { url: ldap.url, bind_dn: SERVICE_DN, bind_password_env: 'SFLEET_TEST_LDAP_BIND_PW', user_base_dn: `ou=people,${LDAP_SUFFIX}`, user_filter: '(objectClass=inetOrgPerson)', timeout: '2s', connect_timeout: '1s' } },
    alerting: {
      evaluation_interval: '1s',
      group_wait: '0s',
      channels: [{ type: 'email', endpoint: 'hpc-team@example.com', from: 'sfleet@example.com', smtp: { host: '127.0.0.1', port: smtp.port, username: 'pager', password: '${SMTP_PASSWORD}' } }],
      directory_contacts: { refresh: '2s' },
      // Neither alice nor bob is in alerting.users: both are directory users.
      schedules: { hpc: { users: ['alice'], handoff: { day: 'monday', time: '09:00' }, time_zone: 'UTC', start: '2026-01-05' } },
      policies: { critical: { steps: [{ schedules: ['hpc'], users: ['bob'], wait: '1h' }] } },
    },
  };
  writeFileSync(join(work, 'hub.yaml'), JSON.stringify(hubConfig));
  hub = new SfleetProcess(['hub', '--config', join(work, 'hub.yaml')], join(work, 'hub.log'), { ...process.env, SMTP_PASSWORD: 'smtp-s3cret', SFLEET_TEST_LDAP_BIND_PW: LDAP_PASSWORDS.service }).start();
  clientEnv = { ...process.env, SFLEET_HUB: `https://127.0.0.1:${httpPort}`, SFLEET_CA: `${pki}/ca.pem`, SFLEET_CERT: `${pki}/operator.pem`, SFLEET_KEY: `${pki}/operator-key.pem`, SFLEET_CONFIG: join(work, 'contexts.yaml') };
  await waitFor('hub answers', async () => (await sfleet(['oncall', '-o', 'json'], clientEnv).catch(() => undefined)) !== undefined, 30_000, 250);
}, 120_000);

afterAll(async () => {
  await hub?.kill('SIGTERM');
  await smtp?.close();
  await ldap?.stop();
});

describe('on-call contacts from the directory (real OpenLDAP, real SMTP)', () => {
  it('mails the on-call user at the mail of her entry; a user without mail is a rejected delivery naming him and the attribute', async () => {
    expect(await postAlerts([{ labels: { alertname: 'GpuXidErrors', severity: 'critical', cluster: 'lab' }, annotations: { summary: 'XID errors on gpu07' } }])).toBe(200);
    // The exact state asserted below: the SMTP server has the mail before the hub records the delivery.
    await waitFor('the mail to alice delivered and bob rejected', async () => {
      const email = (await deliveries()).filter((d) => d.channel === 'email');
      return smtp.mails.length >= 1 && email.some((d) => d.recipient === 'alice' && d.outcome === 'delivered') && email.some((d) => d.recipient === 'bob' && d.outcome === 'rejected');
    }, 30_000, 200);
    expect(smtp.mails).toHaveLength(1);
    expect(smtp.mails[0]).toMatchObject({ to: ['alice@sfleet.test'], user: 'pager', from: 'sfleet@example.com' });
    expect(smtp.mails[0].data).toContain('Subject: [FIRING] [critical] XID errors on gpu07');
    const log = await deliveries();
    expect(log.filter((d) => d.channel === 'email').map((d) => [d.recipient, d.outcome, d.reason ?? '']).sort()).toEqual([
      ['alice', 'delivered', expect.any(String)],
      ['bob', 'rejected', 'user "bob" has no mail in the directory'],
    ]);
    expect(JSON.stringify(log)).not.toContain('alice@sfleet.test'); // the log names the user, not the address
  }, 60_000);

  it('a mail added to bob\'s entry is used after the next refresh', async () => {
    await ldap.modify(`dn: uid=bob,ou=people,${LDAP_SUFFIX}\nchangetype: modify\nadd: mail\nmail: bob@sfleet.test\n`);
    // The refresh runs every 2 s: a new alert (its own group) each try, until one reaches bob too.
    let summary = '';
    await waitFor('an alert after the refresh mailed to bob', async () => {
      summary = `slurmdbd does not answer (${Date.now()})`;
      expect(await postAlerts([{ labels: { alertname: `SlurmdbdDown${Date.now()}`, severity: 'critical', cluster: 'lab' }, annotations: { summary } }])).toBe(200);
      const sent = Date.now();
      while (Date.now() - sent < 8_000) {
        const to = smtp.mails.filter((m) => m.data.includes(summary)).map((m) => m.to[0]);
        if (to.includes('bob@sfleet.test') && to.includes('alice@sfleet.test')) return true;
        await new Promise((r) => setTimeout(r, 200));
      }
      return false;
    }, 45_000, 0);
    expect(smtp.mails.filter((m) => m.data.includes(summary)).map((m) => m.to[0]).sort()).toEqual(['alice@sfleet.test', 'bob@sfleet.test']);
  }, 60_000);
});
