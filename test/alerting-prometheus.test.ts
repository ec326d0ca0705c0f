// A site's existing Prometheus pages through sfleet: a real Prometheus (Debian, scripts/
// prometheus/install.sh) with a firing rule sends its alert to the hub's Alertmanager-compatible
// intake (POST /api/v2/alerts over mutual TLS, as a client bound to a role with alerts:intake
// only); the alert takes the hub's severity policy to a receiver that checks PagerDuty Events v2;
// when the rule stops firing, Prometheus posts the resolve and PagerDuty gets the resolve with
// the same dedup_key. No Slurm involved.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pagerdutyReceiver, type HttpReceiver } from './harness/alert-receivers.js';
import { freePort } from './harness/ports.js';
import { Prometheus, prometheusBins, Pushgateway } from './harness/prometheus.js';
import { assertBuilt, sfleet, SfleetProcess } from './harness/sfleet-process.js';
import { waitFor } from './harness/wait.js';

const PD_KEY = 'f0e1d2c3b4a5968778695a4b3c2d1e0f';
let work: string;
let hub: SfleetProcess;
let prometheus: Prometheus;
let pushgateway: Pushgateway;
let pd: HttpReceiver;
let clientEnv: NodeJS.ProcessEnv;

const push = (value: number) => fetch(`${pushgateway.url}/metrics/job/gpu-health`, { method: 'PUT', body: `sfleet_test_gpu_xid_errors ${value}\n` }).then((r) => expect(r.ok).toBe(true));
const ours = (action: string) => pd.accepted.filter((r) => r.body.event_action === action && (action !== 'trigger' || JSON.stringify(r.body).includes('XID errors on gpu07')));

beforeAll(async () => {
  assertBuilt();
  const bins = await prometheusBins();
  pd = await pagerdutyReceiver(PD_KEY).start();
  pushgateway = await Pushgateway.start(bins);
  await push(0);

  work = mkdtempSync(join(tmpdir(), 'sfleet-alerting-prom-'));
  const pki = join(work, 'pki');
  const env = { ...process.env };
  await sfleet(['ca', 'init', '--dir', pki, '--trust-domain', 'alerting-prom.test'], env);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'hub', '--name', 'hub1'], env);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'client', '--name', 'operator'], env);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'client', '--name', 'prometheus'], env);
  const httpPort = await freePort();
  const hubConfig = {
    listen: { grpc: `127.0.0.1:${await freePort()}`, http: `127.0.0.1:${httpPort}` },
    tls: { ca: `${pki}/ca.pem`, cert: `${pki}/hub1.pem`, key: `${pki}/hub1-key.pem` },
    data_dir: `${work}/hub-data`,
    rbac: {
      roles: { alert_sender: { permissions: ['alerts:intake'] }, oncall: { permissions: ['alerts:*', 'silences:*', 'cluster:read'] } },
      bindings: [{ client: 'prometheus', role: 'alert_sender' }, { client: 'operator', role: 'oncall' }],
    },
    alerting: {
      evaluation_interval: '1s',
      group_wait: '0s',
      channels: [{ type: 'pagerduty', integration_key: '${PAGERDUTY_KEY}', url: `${pd.url}/v2/enqueue` }],
      policies: { critical: { escalation_time: '5m', channels: ['pagerduty'] } },
    },
  };
  writeFileSync(join(work, 'hub.yaml'), JSON.stringify(hubConfig));
  hub = new SfleetProcess(['hub', '--config', join(work, 'hub.yaml')], join(work, 'hub.log'), { ...process.env, PAGERDUTY_KEY: PD_KEY }).start();
  clientEnv = { ...process.env, SFLEET_HUB: `https://127.0.0.1:${httpPort}`, SFLEET_CA: `${pki}/ca.pem`, SFLEET_CERT: `${pki}/operator.pem`, SFLEET_KEY: `${pki}/operator-key.pem`, SFLEET_CONFIG: join(work, 'contexts.yaml') };
  await waitFor('hub answers', async () => (await sfleet(['alerts', 'list', '-o', 'json'], clientEnv).catch(() => undefined)) !== undefined, 30_000, 250);

  prometheus = await Prometheus.start(bins, [{ job_name: 'pushgateway', honor_labels: true, static_configs: [{ targets: [pushgateway.url.replace('http://', '')] }] }], {
    ruleGroups: [
      {
        name: 'gpu',
        rules: [{ alert: 'GpuXidErrors', expr: 'sfleet_test_gpu_xid_errors > 0', for: '0s', labels: { severity: 'critical', cluster: 'lab' }, annotations: { summary: 'XID errors on gpu07', runbook_url: 'https://wiki.example/xid' } }],
      },
    ],
    alerting: {
      alertmanagers: [
        {
          scheme: 'https',
          api_version: 'v2',
          path_prefix: '/',
          timeout: '5s',
          tls_config: { ca_file: `${pki}/ca.pem`, cert_file: `${pki}/prometheus.pem`, key_file: `${pki}/prometheus-key.pem` },
          static_configs: [{ targets: [`127.0.0.1:${httpPort}`] }],
        },
      ],
    },
  });
}, 900_000);

afterAll(async () => {
  await prometheus?.stop();
  await pushgateway?.stop();
  await hub?.kill('SIGTERM');
  await pd?.close();
});

describe('a real Prometheus pages through the intake', () => {
  it('a firing rule -> POST /api/v2/alerts -> the critical policy pages PagerDuty; the rule stops firing -> resolve with the same dedup_key', async () => {
    await push(3);
    await waitFor('PagerDuty trigger from the Prometheus alert', async () => ours('trigger').length >= 1, 60_000, 250);
    const trigger = ours('trigger')[0].body;
    expect(pd.refused).toEqual([]);
    expect(trigger).toMatchObject({ routing_key: PD_KEY, event_action: 'trigger', payload: { severity: 'critical', summary: expect.stringContaining('XID errors on gpu07') } });
    const alerts = JSON.parse(await sfleet(['alerts', 'list', '--state', 'firing', '-o', 'json'], clientEnv)) as { labels: Record<string, string>; source?: string; generator_url?: string; annotations: Record<string, string> }[];
    const alert = alerts.find((a) => a.labels.alertname === 'GpuXidErrors');
    expect(alert).toMatchObject({ source: 'intake', labels: { severity: 'critical', cluster: 'lab' }, annotations: { runbook_url: 'https://wiki.example/xid' } });
    expect(alert?.generator_url).toMatch(/^http:\/\/.*graph\?g0\.expr=/);

    await push(0);
    await waitFor('PagerDuty resolve', async () => ours('resolve').some((r) => r.body.dedup_key === trigger.dedup_key), 60_000, 250);
    expect(ours('trigger')).toHaveLength(1);
    const resolved = JSON.parse(await sfleet(['alerts', 'list', '--state', 'resolved', '-o', 'json'], clientEnv)) as { labels: Record<string, string> }[];
    expect(resolved.some((a) => a.labels.alertname === 'GpuXidErrors')).toBe(true);
  });
});
