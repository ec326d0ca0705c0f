import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeElasticsearch } from '../../../test/harness/fake-elasticsearch.js';
import { waitFor } from '../../../test/harness/ports.js';
import { createLogger } from '../../../shared/logging/index.js';
import { auditShipSchema, elasticsearchShipSchema, webhookShipSchema } from '../config.js';
import type { AuditRecord } from '../record.js';
import { ElasticsearchSink } from './elasticsearch.js';
import { Shipper } from './shipper.js';
import { WebhookSink } from './webhook.js';

const PASSWORD = 'es-pass-0f9c1e';
let logText = '';
const logger = createLogger({ name: 'test', level: 'debug', destination: new Writable({ write: (c, _e, cb) => ((logText += String(c)), cb()) }) });
const opts = { buffer: 1000, batch: 10, flushIntervalMs: 5, initialBackoffMs: 20, maxBackoffMs: 100 };
let seq = 0;
const rec = (): AuditRecord =>
  ({ type: 'record', seq: ++seq, id: randomUUID(), timestamp: new Date().toISOString(), level: 'Metadata', hub_id: 'h', user: 'alice', auth_method: 'token', action: 'jobs:cancel', resource: `job c/${seq}`, outcome: 'success', status: 200, reason: null, source_ip: '127.0.0.1', request_id: 'r', tenant: { cluster: 'c' }, transport: 'http', prev_hash: 'p', hash: `h${seq}` }) as AuditRecord;

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
  // Secrets never reach a log, whatever happened in the test.
  expect(logText).not.toContain(PASSWORD);
  expect(logText).not.toContain(Buffer.from(`elastic:${PASSWORD}`).toString('base64'));
});

async function es(): Promise<FakeElasticsearch> {
  const fake = await new FakeElasticsearch().start();
  closers.push(() => fake.close());
  return fake;
}

function esShipper(fake: FakeElasticsearch, extra: Partial<typeof opts> = {}, timeoutMs = 2_000): Shipper {
  const config = elasticsearchShipSchema.parse({ url: fake.url, index: 'sfleet-audit', username: 'elastic', password_env: 'ES_PW' });
  const shipper = new Shipper(new ElasticsearchSink(config, timeoutMs, { ES_PW: PASSWORD }), { ...opts, ...extra }, logger);
  closers.unshift(() => shipper.close());
  return shipper;
}

describe('shipping to Elasticsearch _bulk', () => {
  it('sends NDJSON index actions with the record id as _id, basic auth, and every record arrives once', async () => {
    const fake = await es();
    fake.expectAuthorization = `Basic ${Buffer.from(`elastic:${PASSWORD}`).toString('base64')}`;
    const shipper = esShipper(fake);
    const records = Array.from({ length: 25 }, rec);
    records.forEach((r) => shipper.enqueue(r));
    await waitFor('all documents, acknowledged', () => fake.docs.size === 25 && shipper.stats.shipped === 25);
    expect(fake.refusals).toEqual([]);
    expect(fake.requests.every((r) => r.actions.length <= 10)).toBe(true);
    expect(fake.docs.get(`sfleet-audit/${records[3].id}`)).toMatchObject({ '@timestamp': records[3].timestamp, seq: records[3].seq, action: 'jobs:cancel', hash: records[3].hash });
    expect(shipper.stats).toMatchObject({ shipped: 25, dropped: 0, failures: 0 });
  });

  it('sends an API key as Authorization: ApiKey', async () => {
    const fake = await es();
    fake.expectAuthorization = 'ApiKey a2V5aWQ6c2VjcmV0';
    const sink = new ElasticsearchSink(elasticsearchShipSchema.parse({ url: fake.url, api_key_env: 'K' }), 1_000, { K: 'a2V5aWQ6c2VjcmV0' });
    expect(await sink.send([rec()])).toEqual({ retry: [], rejected: 0 });
  });

  it('retries only the items the bulk answer failed (429), and counts mapping rejections without retrying them', async () => {
    const fake = await es();
    const shipper = esShipper(fake);
    const records = Array.from({ length: 6 }, rec);
    fake.failOnce.set(records[1].id, 429);
    fake.failOnce.set(records[4].id, 503);
    fake.reject.add(records[5].id);
    records.forEach((r) => shipper.enqueue(r));
    await waitFor('retried items, acknowledged', () => fake.docs.size === 5 && shipper.stats.shipped === 5);
    expect(fake.requests[0].actions.map((a) => a._id)).toEqual(records.map((r) => r.id));
    expect(fake.requests[1].actions.map((a) => a._id)).toEqual([records[1].id, records[4].id]);
    expect(shipper.stats).toMatchObject({ shipped: 5, rejected: 1, retries: 2 });
    expect(logText).toContain('audit destination refused records for good');
  });

  it('rides out an outage: retries with backoff and delivers everything, in order, once it is back', async () => {
    const fake = await es();
    fake.mode = 'down';
    const shipper = esShipper(fake);
    const records = Array.from({ length: 30 }, rec);
    records.forEach((r) => shipper.enqueue(r));
    await waitFor('a few failed attempts', () => shipper.stats.failures >= 3);
    expect(fake.docs.size).toBe(0);
    expect(shipper.buffered).toBe(30);
    fake.mode = 'up';
    await waitFor('all documents after recovery, acknowledged', () => fake.docs.size === 30 && shipper.stats.shipped === 30, 10_000);
    const order = fake.requests.flatMap((r) => r.actions.map((a) => a._id));
    expect(order).toEqual(records.map((r) => r.id));
    expect(logText).toContain('audit shipping recovered');
  });

  it('gives up on a request that hangs after the timeout and retries it', async () => {
    const fake = await es();
    fake.mode = 'hang';
    const shipper = esShipper(fake, {}, 200);
    shipper.enqueue(rec());
    await waitFor('a timed-out attempt', () => shipper.stats.failures >= 1);
    expect(shipper.lastError).toMatch(/no answer within 200ms/);
    fake.mode = 'up';
    await waitFor('the document, acknowledged', () => shipper.stats.shipped === 1, 10_000);
    expect(fake.docs.size).toBe(1);
  });

  it('never blocks: a full buffer drops the oldest records, counts them and logs once', async () => {
    const fake = await es();
    fake.mode = 'down';
    const shipper = esShipper(fake, { buffer: 5, batch: 100, flushIntervalMs: 10_000 });
    const records = Array.from({ length: 12 }, rec);
    records.forEach((r) => shipper.enqueue(r));
    expect(shipper.buffered).toBe(5);
    expect(shipper.stats.dropped).toBe(7);
    expect(logText.match(/audit shipping buffer full/g)).toHaveLength(1);
    fake.mode = 'up';
    await shipper.pump();
    expect([...fake.docs.values()].map((d) => d.seq)).toEqual(records.slice(7).map((r) => r.seq));
  });

  it('refuses a missing secret at start, naming the variable, not a value', () => {
    const config = elasticsearchShipSchema.parse({ url: 'http://127.0.0.1:1', username: 'elastic', password_env: 'NOPE_PW' });
    expect(() => new ElasticsearchSink(config, 1_000, {})).toThrow('audit.ship.elasticsearch password: environment variable NOPE_PW is not set');
    expect(() => new ElasticsearchSink(elasticsearchShipSchema.parse({ url: 'http://127.0.0.1:1', api_key_file: '/nonexistent/key' }), 1_000, {})).toThrow(/cannot read \/nonexistent\/key: ENOENT/);
  });
});

describe('shipping to a webhook', () => {
  it('posts JSON signed with HMAC-SHA256, retries a 500, and the receiver can check the signature', async () => {
    const bodies: { body: string; signature?: string }[] = [];
    let failNext = 1;
    const server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        if (req.headers['content-type'] !== 'application/json') {
          res.writeHead(415).end();
          return;
        }
        if (failNext-- > 0) {
          res.writeHead(500).end();
          return;
        }
        bodies.push({ body, signature: req.headers['x-sfleet-signature'] as string | undefined });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => server.close(() => r())));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
    const sink = new WebhookSink(webhookShipSchema.parse({ url, secret_env: 'HOOK' }), 1_000, { HOOK: 'hook-secret' });
    const shipper = new Shipper(sink, opts, logger);
    closers.unshift(() => shipper.close());
    const records = [rec(), rec()];
    records.forEach((r) => shipper.enqueue(r));
    await waitFor('delivery, acknowledged', () => bodies.length === 1 && shipper.stats.shipped === 2);
    const { body, signature } = bodies[0];
    expect(signature).toBe(`sha256=${createHmac('sha256', 'hook-secret').update(body).digest('hex')}`);
    expect((JSON.parse(body) as { records: AuditRecord[] }).records.map((r) => r.id)).toEqual(records.map((r) => r.id));
    expect(shipper.stats).toMatchObject({ shipped: 2, failures: 1 });
  });

  it('has defaults for every knob', () => {
    expect(auditShipSchema.parse({})).toMatchObject({ buffer: 10_000, batch: 500, flush_interval: 1_000, timeout: 10_000, initial_backoff: 500, max_backoff: 60_000 });
  });
});

describe('shipping across hub restarts', () => {
  it('ships after a restart what was written while the destination was down, and only that', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { AuditLog } = await import('../audit-log.js');
    const { auditConfigSchema } = await import('../config.js');
    const fake = await es();
    const dir = mkdtempSync(join(tmpdir(), `audit-${process.pid}-`));
    const event = (n: number) => ({ action: 'jobs:cancel', resource: `job c/${n}`, outcome: 'success' as const, required: true });
    const open = async (ship: boolean) => {
      const config = auditConfigSchema.parse({
        dir,
        ...(ship ? { ship: { elasticsearch: { url: fake.url, username: 'elastic', password_env: 'ES_PW' }, flush_interval: '10ms', initial_backoff: '20ms', max_backoff: '50ms' } } : {}),
      });
      const log = new AuditLog(config, { hubId: 'h', dataDir: dir, logger, env: { ES_PW: PASSWORD } });
      await log.open();
      return log;
    };
    // Written before shipping was configured: stays local.
    let log = await open(false);
    await log.record(event(1));
    await log.close();
    fake.mode = 'down';
    log = await open(true);
    for (let n = 2; n <= 6; n++) await log.record(event(n));
    await waitFor('a failed attempt', () => log.shippers[0].stats.failures > 0);
    await log.close();
    expect(fake.docs.size).toBe(0);

    fake.mode = 'up';
    log = await open(true);
    await waitFor('the backlog shipped', () => fake.docs.size === 5);
    await log.record(event(7));
    await waitFor('the new record shipped', () => fake.docs.size === 6);
    expect([...fake.docs.values()].map((d) => d.resource)).toEqual(['job c/2', 'job c/3', 'job c/4', 'job c/5', 'job c/6', 'job c/7']);
    await log.close();
    // Nothing is shipped twice after a clean stop.
    log = await open(true);
    // The backlog is queued synchronously in open(): nothing is.
    expect(log.shippers[0].buffered).toBe(0);
    await log.close();
    expect(fake.docs.size).toBe(6);
  });
});
