// Alerting end to end against the real Slurm 22.05 (scripts/slurm/start.sh) and a real
// Mosquitto (scripts/services/mosquitto.sh): `scontrol update nodename=node4 state=down` ->
// agent -> hub -> node_down -> a real SMTP server (AUTH), the MQTT broker (retained state), and
// receivers that check PagerDuty Events v2, signed webhooks, the ServiceNow Table API, Jira REST
// v2 and an SMS gateway as documented; unacknowledged it is sent again after escalation_time;
// `sfleet alerts ack` stops it; node4 resumed -> resolve notifications (PagerDuty resolve with the
// same dedup_key, MQTT state resolved, the ServiceNow incident resolved, the Jira issue moved
// through the transition named Done), and `sfleet alerts history` shows the whole timeline.
// node4's slurmd is stopped while it is down: this Slurm runs ReturnToService=2, and a running
// slurmd would bring the node back by itself within seconds, ending the alert mid-escalation.
// Touches Slurm: run under flock /tmp/sfleet-slurm-helper.lock. Leaves node4 resumed.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jiraReceiver, pagerdutyReceiver, servicenowReceiver, smsGatewayReceiver, SmtpReceiver, webhookReceiver, type HttpReceiver } from './harness/alert-receivers.js';
import { execText } from './harness/exec.js';
import { freePort } from './harness/ports.js';
import { waitFor } from './harness/wait.js';
import { assertBuilt, ROOT, sfleet, SfleetProcess } from './harness/sfleet-process.js';
import { ensureSlurm, slurmCli, startSlurmd, stopSlurmd, type SlurmEnv } from './harness/slurm.js';

const NODE = 'node4';
const PD_KEY = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const HOOK_SECRET = 'it-webhook-secret';
const ESCALATION_S = 8;
const SNOW = { username: 'sfleet', password: 'it-snow-pass' };
const JIRA = { username: 'pager@example.com', password: 'it-jira-token' };
const SMS_TOKEN = 'it-sms-token';
const ONCALL_PHONE = '+4915100000004';
let slurm: SlurmEnv;
let work: string;
let hub: SfleetProcess;
let agent: SfleetProcess;
let clientEnv: NodeJS.ProcessEnv;
let pd: HttpReceiver;
let hook: ReturnType<typeof webhookReceiver>;
let smtp: SmtpReceiver;
let snow: ReturnType<typeof servicenowReceiver>;
let jira: ReturnType<typeof jiraReceiver>;
let sms: ReturnType<typeof smsGatewayReceiver>;
let sub: MqttClient;
let mqttEnv: Record<string, string>;
const mqttMessages: { topic: string; retain: boolean; body: string }[] = [];

const unfold = (mail: string) => mail.replace(/\r?\n[ \t]/g, ' ');
const node4Mails = () => smtp.mails.filter((m) => unfold(m.data).includes(`Subject: [`) && unfold(m.data).includes(`node ${NODE} of`));
const node4Hooks = () => hook.accepted.filter((r) => JSON.stringify(r.body.alerts).includes(`"node":"${NODE}"`));
const incidentOf = (dedup: string) => [...snow.incidents.values()].filter((i) => i.correlation_id === dedup);
const issuesOf = (dedup: string) => [...jira.issues.values()].filter((i) => (i.fields.labels as string[]).includes(dedup));
const triggers = () => pd.accepted.filter((r) => r.body.event_action === 'trigger' && JSON.stringify(r.body).includes(`node ${NODE} `));

beforeAll(async () => {
  assertBuilt();
  slurm = await ensureSlurm();
  await slurmCli(slurm, 'scontrol', ['update', `nodename=${NODE}`, 'state=resume']).catch(() => undefined);
  const out = await execText('bash', [join(ROOT, 'scripts/services/mosquitto.sh')], { env: process.env, timeoutMs: 300_000 });
  mqttEnv = Object.fromEntries([...out.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1], m[2]]));
  pd = await pagerdutyReceiver(PD_KEY).start();
  hook = await webhookReceiver(HOOK_SECRET).start();
  smtp = await new SmtpReceiver('pager', 'mail-pass').start();
  snow = await servicenowReceiver(SNOW).start();
  jira = await jiraReceiver(JIRA, 'HPC').start();
  sms = await smsGatewayReceiver(SMS_TOKEN).start();
  sub = await mqtt.connectAsync(mqttEnv.SFLEET_MQTT_URL, { username: mqttEnv.SFLEET_MQTT_USER, password: mqttEnv.SFLEET_MQTT_PASSWORD });
  sub.on('message', (topic, payload, packet) => mqttMessages.push({ topic, retain: packet.retain, body: payload.toString() }));
  await sub.subscribeAsync('sfleet/#', { qos: 1 });

  work = mkdtempSync(join(tmpdir(), 'sfleet-alerting-'));
  const pki = join(work, 'pki');
  const env = { ...process.env };
  await sfleet(['ca', 'init', '--dir', pki, '--trust-domain', 'alerting.test'], env);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'hub', '--name', 'hub1'], env);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'agent', '--name', 'head1', '--cluster', slurm.cluster], env);
  await sfleet(['ca', 'issue', '--dir', pki, '--role', 'client', '--name', 'operator'], env);
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const hubConfig = {
    listen: { grpc: `127.0.0.1:${grpcPort}`, http: `127.0.0.1:${httpPort}` },
    tls: { ca: `${pki}/ca.pem`, cert: `${pki}/hub1.pem`, key: `${pki}/hub1-key.pem` },
    data_dir: `${work}/hub-data`,
    alerting: {
      evaluation_interval: '1s',
      group_wait: '0s',
      group_interval: '2s',
      // One group per node: node5 of the local Slurm may be down already (another page of its own).
      group_by: ['alertname', 'cluster', 'node'],
      keep_firing_for: '2s',
      channels: [
        { type: 'email', endpoint: 'oncall@example.com', from: 'sfleet@example.com', smtp: { host: '127.0.0.1', port: smtp.port, username: 'pager', password: '${SMTP_PASSWORD}' } },
        { type: 'pagerduty', integration_key: '${PAGERDUTY_KEY}', url: `${pd.url}/v2/enqueue` },
        { type: 'webhook', url: `${hook.url}/hook`, secret: HOOK_SECRET },
        { type: 'mqtt', url: mqttEnv.SFLEET_MQTT_URL, username: mqttEnv.SFLEET_MQTT_USER, password: '${MQTT_PASSWORD}' },
        { type: 'servicenow', instance: 'company.service-now.com', url: snow.url, username: SNOW.username, password: '${SNOW_PASS}', incident_table: 'incident', assignment_group: 'HPC Ops' },
        { type: 'jira', url: jira.url, project: 'HPC', issue_type: 'Bug', username: JIRA.username, password: '${JIRA_TOKEN}' },
        { type: 'sms', url: `${sms.url}/v1/messages`, headers: { authorization: 'Bearer ${SMS_TOKEN}' }, to: [ONCALL_PHONE] },
      ],
      policies: { critical: { escalation_time: `${ESCALATION_S}s`, channels: ['pagerduty', 'email', 'webhook', 'mqtt', 'servicenow', 'jira', 'sms'] } },
      rules: { node_down: { for: '0s', severity: 'critical' }, partition_nodes_unavailable: { enabled: false }, queue_stall: { enabled: false }, job_failure_burst: { enabled: false } },
    },
  };
  writeFileSync(join(work, 'hub.yaml'), JSON.stringify(hubConfig));
  writeFileSync(
    join(work, 'agent.yaml'),
    [
      `cluster: ${slurm.cluster}`,
      'name: head1',
      `hub: { endpoints: ["127.0.0.1:${grpcPort}"], initial_backoff: 200ms, max_backoff: 1s }`,
      `tls: { ca: ${pki}/ca.pem, cert: ${pki}/head1.pem, key: ${pki}/head1-key.pem }`,
      `slurm: { source: rest, endpoints: ["${slurm.restUrl}"], auth: { user: ${slurm.restUser}, token: "\${SFLEET_TEST_SLURM_JWT}" } }`,
      'poll_interval: 1s',
      `spool_dir: ${work}/spool`,
      '',
    ].join('\n'),
  );
  hub = new SfleetProcess(['hub', '--config', join(work, 'hub.yaml')], join(work, 'hub.log'), { ...process.env, SMTP_PASSWORD: 'mail-pass', PAGERDUTY_KEY: PD_KEY, MQTT_PASSWORD: mqttEnv.SFLEET_MQTT_PASSWORD, SNOW_PASS: SNOW.password, JIRA_TOKEN: JIRA.password, SMS_TOKEN }).start();
  agent = new SfleetProcess(['agent', '--config', join(work, 'agent.yaml')], join(work, 'agent.log'), { ...process.env, SFLEET_TEST_SLURM_JWT: slurm.jwt }).start();
  clientEnv = { ...process.env, SFLEET_HUB: `https://127.0.0.1:${httpPort}`, SFLEET_CA: `${pki}/ca.pem`, SFLEET_CERT: `${pki}/operator.pem`, SFLEET_KEY: `${pki}/operator-key.pem`, SFLEET_CONFIG: join(work, 'contexts.yaml') };
  await waitFor('cluster connected', async () => {
    const list = JSON.parse(await sfleet(['clusters', '-o', 'json'], clientEnv)) as { name: string; connected: boolean }[];
    return list.some((c) => c.name === slurm.cluster && c.connected);
  }, 30_000, 250);
}, 360_000);

afterAll(async () => {
  if (slurm) await startSlurmd(slurm, NODE).catch(() => undefined);
  if (slurm) await slurmCli(slurm, 'scontrol', ['update', `nodename=${NODE}`, 'state=resume']).catch(() => undefined);
  await agent?.kill('SIGTERM');
  await hub?.kill('SIGTERM');
  await sub?.endAsync().catch(() => undefined);
  await Promise.all([pd?.close(), hook?.close(), smtp?.close(), snow?.close(), jira?.close(), sms?.close()]);
});

describe('alerting with the real Slurm', () => {
  it('node4 down pages every channel, escalates unacknowledged, stops on `sfleet alerts ack`, and resolves when node4 returns', async () => {
    await stopSlurmd(slurm, NODE);
    await slurmCli(slurm, 'scontrol', ['update', `nodename=${NODE}`, 'state=down', 'reason=x']);
    const downAt = Date.now();
    await waitFor('PagerDuty trigger for node4', async () => triggers().length >= 1, 20_000, 200);
    const first = triggers()[0].body;
    const dedup = String(first.dedup_key);
    expect(first).toMatchObject({ routing_key: PD_KEY, event_action: 'trigger', payload: { severity: 'critical', source: slurm.cluster, component: NODE } });
    await waitFor('mail, webhook and MQTT', async () => node4Mails().length >= 1 && node4Hooks().length >= 1 && mqttMessages.some((m) => !m.retain && m.body.includes(`"node":"${NODE}"`)), 10_000, 200);
    expect(node4Mails()[0]).toMatchObject({ to: ['oncall@example.com'], user: 'pager' });
    expect(unfold(node4Mails()[0].data)).toContain(`Subject: [FIRING] [critical] node ${NODE} of ${slurm.cluster} is down: x`);
    expect(hook.refused).toEqual([]);
    expect(node4Hooks()[0].body).toMatchObject({ status: 'firing', dedup_key: dedup, step: 1 });
    await waitFor('ServiceNow incident, Jira issue and SMS', async () => incidentOf(dedup).length === 1 && issuesOf(dedup).length === 1 && sms.texts.some((t) => t.message.includes(`node ${NODE} `)), 10_000, 200);
    expect(incidentOf(dedup)[0]).toMatchObject({ urgency: '1', assignment_group: 'HPC Ops', state: '1', short_description: `[critical] node ${NODE} of ${slurm.cluster} is down: x` });
    expect(issuesOf(dedup)[0].fields).toMatchObject({ project: { key: 'HPC' }, issuetype: { name: 'Bug' } });
    expect(sms.texts.find((t) => t.message.includes(`node ${NODE} `))).toMatchObject({ to: ONCALL_PHONE, message: expect.stringMatching(/^FIRING: \[critical\] node node4/) });
    const alerts = JSON.parse(await sfleet(['alerts', 'list', '--state', 'firing', '-o', 'json'], clientEnv)) as { fingerprint: string; labels: Record<string, string> }[];
    const alert = alerts.find((a) => a.labels.alertname === 'node_down' && a.labels.node === NODE)!;
    expect(alert).toBeDefined();
    const stateTopic = `sfleet/default/default/${slurm.cluster}/critical/${alert.fingerprint}`;
    // Live (not the retained state of an earlier run, which a subscriber gets first).
    expect(mqttMessages.find((m) => m.topic === stateTopic && !m.retain && m.body.includes('"status":"firing"'))).toBeDefined();
    // Not acknowledged: the policy notifies again after escalation_time.
    await waitFor('the second notification (step 2)', async () => triggers().length >= 2, (ESCALATION_S + 10) * 1000, 250);
    expect(Date.now() - downAt).toBeGreaterThanOrEqual((ESCALATION_S - 2) * 1000);
    await waitFor('the webhook hears step 2 too', async () => node4Hooks().some((r) => r.body.step === 2), 5_000, 200);
    // The repeat updates the same ticket: a work note, a comment; never a second incident or issue.
    await waitFor('ServiceNow work note and Jira comment for step 2', async () => incidentOf(dedup)[0].work_notes.length >= 1 && issuesOf(dedup)[0].comments.length >= 1, 5_000, 200);
    expect([incidentOf(dedup).length, issuesOf(dedup).length]).toEqual([1, 1]);

    await sfleet(['alerts', 'ack', alert.fingerprint], clientEnv);
    await waitFor('PagerDuty acknowledge', async () => pd.accepted.some((r) => r.body.event_action === 'acknowledge' && r.body.dedup_key === dedup), 10_000, 200);
    const afterAck = triggers().length;
    await new Promise((r) => setTimeout(r, (ESCALATION_S + 3) * 1000));
    expect(triggers().length).toBe(afterAck);

    // node4 returns. This Slurm runs ReturnToService=2: a DOWN node whose slurmd registers again
    // may already be back by itself, and then resume answers "Invalid node state specified".
    await startSlurmd(slurm, NODE);
    await slurmCli(slurm, 'scontrol', ['update', `nodename=${NODE}`, 'state=resume']).catch(async (err: Error) => {
      const state = (await slurmCli(slurm, 'sinfo', ['-h', '-n', NODE, '-o', '%t'])).trim();
      if (/down|drain|fail/.test(state)) throw err;
    });
    await waitFor('PagerDuty resolve with the same dedup_key', async () => pd.accepted.some((r) => r.body.event_action === 'resolve' && r.body.dedup_key === dedup), 30_000, 250);
    await waitFor('resolve mail and webhook', async () => node4Mails().some((m) => m.data.includes('[RESOLVED]')) && node4Hooks().some((r) => r.body.status === 'resolved'), 10_000, 200);
    expect(pd.refused).toEqual([]);
    await waitFor('ServiceNow incident resolved and Jira issue done', async () => incidentOf(dedup)[0].state === '6' && issuesOf(dedup)[0].status === 'Done', 10_000, 200);
    expect(incidentOf(dedup)[0]).toMatchObject({ close_code: 'Solved (Permanently)', close_notes: expect.stringContaining(`node ${NODE}`) });
    expect([snow.refused, jira.refused, sms.refused]).toEqual([[], [], []]);
    // A late subscriber sees the retained state: resolved.
    const late = await mqtt.connectAsync(mqttEnv.SFLEET_MQTT_URL, { username: mqttEnv.SFLEET_MQTT_USER, password: mqttEnv.SFLEET_MQTT_PASSWORD });
    const retained = new Promise<string>((resolve) => late.on('message', (_t, p, packet) => packet.retain && resolve(p.toString())));
    await late.subscribeAsync(stateTopic, { qos: 1 });
    expect(await retained).toContain('"status":"resolved"');
    await late.endAsync();
    const deliveries = JSON.parse(await sfleet(['alerts', 'deliveries', '--channel', 'pagerduty', '-o', 'json'], clientEnv)) as { status: string; outcome: string; dedup_key: string }[];
    expect(deliveries.filter((d) => d.outcome === 'delivered' && d.dedup_key === dedup).map((d) => d.status)).toEqual(['firing', 'firing', 'acknowledged', 'resolved']);
    // The history: fired, notified (every channel), acknowledged by the operator, resolved.
    type History = { fingerprint: string; acknowledged_by: string | null; resolved_at: string | null; timeline: { what: string; channel?: string; status?: string; outcome?: string }[] };
    const history = JSON.parse(await sfleet(['alerts', 'history', '--cluster', slurm.cluster, '-o', 'json'], clientEnv)) as History[];
    const mine = history.find((h) => h.fingerprint === alert.fingerprint)!;
    expect(mine).toMatchObject({ acknowledged_by: 'operator', resolved_at: expect.any(String) });
    const whats = mine.timeline.map((e) => e.what);
    expect(whats[0]).toBe('fired');
    expect(whats.indexOf('resolved')).toBeGreaterThan(whats.indexOf('acknowledged'));
    expect(whats.indexOf('acknowledged')).toBeGreaterThan(0);
    const reached = new Set(mine.timeline.filter((e) => e.what === 'notified' && e.status === 'firing' && e.outcome === 'delivered').map((e) => e.channel));
    expect([...reached].sort()).toEqual(['email', 'jira', 'mqtt', 'pagerduty', 'servicenow', 'sms', 'webhook']);
    expect(await sfleet(['alerts', 'history', '--cluster', slurm.cluster], clientEnv)).toMatch(new RegExp(`${alert.fingerprint}\\s+node_down`));
  }, 120_000);
});
