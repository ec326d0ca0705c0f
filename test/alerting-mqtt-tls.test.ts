// Issue 13, the MQTT channel over TLS with a private CA, against a real Mosquitto: a private
// broker (not the shared one) with a TLS listener that demands client certificates. With the
// channel's ca_file, cert_file and key_file the retained state arrives; a broker certificate of
// another CA is a `rejected` delivery that says so; no client certificate is not delivered.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertingConfigSchema } from '../hub/alerting/config.js';
import { mqttNotifier } from '../hub/alerting/notify/mqtt.js';
import type { Notification } from '../hub/alerting/notify/notifier.js';
import { makePki, type TestPki } from './harness/pki.js';
import { freePort } from './harness/ports.js';
import { waitFor } from './harness/wait.js';

let pki: TestPki;
let other: TestPki;
let broker: ChildProcess;
let port: number;

const channel = (extra: Record<string, unknown>) => {
  const config = alertingConfigSchema.parse({ channels: [{ type: 'mqtt', url: `mqtts://127.0.0.1:${port}`, timeout: '5s', ...extra }] });
  return config.channels[0] as Parameters<typeof mqttNotifier>[0];
};
const notification = (fp: string) =>
  ({
    region: 'eu',
    status: 'firing',
    group_key: 'g',
    dedup_key: 'd1',
    ack_url: '',
    alerts: [{ fingerprint: fp, status: 'firing', labels: { alertname: 'node_down', cluster: 'c1', node: 'n1', severity: 'critical' }, summary: 'node n1 of c1 is down', starts_at: new Date().toISOString() }],
  }) as unknown as Notification;

/** A subscriber's TLS: the private CA and the tester's client certificate. */
const clientTls = () => ({ ca: [readFileSync(pki.ca)], cert: readFileSync(pki.client.cert), key: readFileSync(pki.client.key) });
const signal = () => AbortSignal.timeout(20_000);

beforeAll(async () => {
  [pki, other] = await Promise.all([makePki('mqtt.test'), makePki('other.test')]);
  port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sfleet-mqtt-tls-'));
  writeFileSync(
    join(dir, 'mosquitto.conf'),
    [`listener ${port} 127.0.0.1`, `cafile ${pki.ca}`, `certfile ${pki.hub.cert}`, `keyfile ${pki.hub.key}`, 'require_certificate true', 'allow_anonymous true', 'persistence false', // as root it would switch to the mosquitto user, which cannot read the test's 0700 PKI directory
      'user root', ''].join('\n'),
  );
  broker = spawn('mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  broker.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  await waitFor('the private TLS Mosquitto listens', async () => {
    if (broker.exitCode !== null) throw new Error(`mosquitto exited: ${stderr}`);
    const c = await mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, { ...clientTls(), reconnectPeriod: 0, connectTimeout: 2000 }).catch(() => undefined);
    await c?.endAsync();
    return c !== undefined;
  }, 20_000, 250);
});

afterAll(() => {
  broker?.kill('SIGTERM');
});

describe('MQTT channel over TLS with a private CA (real Mosquitto)', () => {
  it('ca_file + client certificate: delivered, and a subscriber gets the retained state', async () => {
    const n = mqttNotifier(channel({ ca_file: pki.ca, cert_file: pki.client.cert, key_file: pki.client.key }));
    try {
      expect(await n.send(notification('fp-tls-1'), signal())).toMatchObject({ outcome: 'delivered' });
    } finally {
      await n.close?.();
    }
    const sub = await mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, { ...clientTls(), reconnectPeriod: 0 });
    const retained = new Promise<string>((resolve) => sub.on('message', (_t, p, packet) => packet.retain && resolve(p.toString())));
    await sub.subscribeAsync('sfleet/eu/default/c1/critical/fp-tls-1', { qos: 1 });
    expect(JSON.parse(await retained)).toMatchObject({ status: 'firing', dedup_key: 'd1', labels: { node: 'n1' } });
    await sub.endAsync();
  });

  it('a broker certificate of another CA: rejected, naming the refused certificate', async () => {
    const n = mqttNotifier(channel({ ca_file: other.ca, cert_file: pki.client.cert, key_file: pki.client.key }));
    try {
      const r = await n.send(notification('fp-tls-2'), signal());
      expect(r.outcome).toBe('rejected');
      expect((r as { reason: string }).reason).toMatch(/^broker certificate refused \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\)/);
    } finally {
      await n.close?.();
    }
  });

  it('the system CAs only (no ca_file): the private broker is refused too', async () => {
    const n = mqttNotifier(channel({ cert_file: pki.client.cert, key_file: pki.client.key }));
    try {
      expect(await n.send(notification('fp-tls-3'), signal())).toMatchObject({ outcome: 'rejected', reason: expect.stringMatching(/^broker certificate refused/) });
    } finally {
      await n.close?.();
    }
  });

  it('no client certificate where the broker demands one: not delivered', async () => {
    const n = mqttNotifier(channel({ ca_file: pki.ca }));
    try {
      expect((await n.send(notification('fp-tls-4'), signal())).outcome).not.toBe('delivered');
    } finally {
      await n.close?.();
    }
  });

  it('cert_file without key_file is refused at load', () => {
    expect(() => channel({ ca_file: pki.ca, cert_file: pki.client.cert })).toThrow(/cert_file and key_file go together/);
  });
});
