// MQTT (mqtt.js): one retained QoS 1 state message per alert on
// <prefix>/<region>/<tenant>/<cluster>/<severity>/<fingerprint>; it turns `resolved` and is
// cleared (an empty retained message) after retain_resolved. A late subscriber sees the state.
import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import type { ChannelConfig } from '../config.js';
import type { Notification, Notifier, SendResult } from './notifier.js';

type MqttConfig = Extract<ChannelConfig, { type: 'mqtt' }>;

function segment(text: string): string {
  return (text || '_').replace(/[/+#\s]/g, '_');
}

export function mqttTopic(c: { topic_prefix: string; tenant: string }, region: string, labels: Record<string, string>, fp: string): string {
  return [c.topic_prefix, region, c.tenant, labels.cluster ?? '', labels.severity ?? '', fp].map(segment).join('/');
}

/** Node's codes for a server certificate that does not verify. */
const TLS_REFUSALS = /^(UNABLE_TO_|SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_|ERR_TLS_CERT_ALTNAME_INVALID)/;

export function mqttNotifier(c: MqttConfig): Notifier {
  let client: MqttClient | undefined;
  const clearTimers = new Set<NodeJS.Timeout>();
  const connect = async (): Promise<MqttClient> => {
    if (client?.connected) return client;
    client?.end(true);
    client = await mqtt.connectAsync(c.url, {
      ...(c.username ? { username: c.username, password: c.password ?? '' } : {}),
      // Read at each connect: a renewed certificate or CA file is used without a restart.
      ...(c.ca_file ? { ca: readFileSync(c.ca_file) } : {}),
      ...(c.cert_file && c.key_file ? { cert: readFileSync(c.cert_file), key: readFileSync(c.key_file) } : {}),
      rejectUnauthorized: true,
      connectTimeout: c.timeout,
      reconnectPeriod: 0,
      clientId: `sfleet-hub-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
    });
    client.on('error', () => undefined);
    return client;
  };
  return {
    name: c.name,
    type: c.type,
    async send(n: Notification): Promise<SendResult> {
      let conn: MqttClient;
      try {
        conn = await connect();
      } catch (err) {
        const e = err as Error & { code?: number | string };
        // 4: bad user name or password; 5: not authorized (MQTT 3.1.1 CONNACK codes).
        if (e.code === 4 || e.code === 5 || e.code === 134 || e.code === 135) return { outcome: 'rejected', reason: `broker refused the connection: ${e.message}` };
        // The broker's certificate is not trusted (another CA, wrong name, expired): a retry will not change that.
        if (typeof e.code === 'string' && TLS_REFUSALS.test(e.code)) return { outcome: 'rejected', reason: `broker certificate refused (${e.code}): ${e.message}` };
        if (typeof e.code === 'string' && e.code === 'ENOENT') return { outcome: 'rejected', reason: `TLS file missing: ${e.message}` };
        return { outcome: 'retry', reason: `broker unreachable: ${e.message}` };
      }
      try {
        for (const a of n.alerts) {
          const topic = mqttTopic(c, n.region, a.labels, a.fingerprint);
          const state = n.status === 'resolved' ? 'resolved' : a.status;
          const message = { status: state, acknowledged: n.status === 'acknowledged' || !!n.acked_by, fingerprint: a.fingerprint, labels: a.labels, summary: a.summary, starts_at: a.starts_at, ends_at: a.ends_at, group_key: n.group_key, dedup_key: n.dedup_key, ack_url: n.ack_url };
          await conn.publishAsync(topic, JSON.stringify(message), { qos: 1, retain: true });
          if (state === 'resolved') {
            const timer = setTimeout(() => {
              clearTimers.delete(timer);
              void conn.publishAsync(topic, '', { qos: 1, retain: true }).catch(() => undefined);
            }, c.retain_resolved);
            timer.unref();
            clearTimers.add(timer);
          }
        }
        return { outcome: 'delivered', detail: `${n.alerts.length} state message(s)` };
      } catch (err) {
        return { outcome: 'retry', reason: `publish failed: ${(err as Error).message}` };
      }
    },
    async close() {
      for (const t of clearTimers) clearTimeout(t);
      await client?.endAsync().catch(() => undefined);
    },
  };
}
