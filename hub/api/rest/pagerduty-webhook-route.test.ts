// The PagerDuty v3 webhook route through the whole API (gate, audit, body limit) with a real
// Alerting: a signed incident.acknowledged stops the escalation, a signed incident.resolved ends
// the alert, and every bad delivery changes nothing.
import { createHmac } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../shared/clock/index.js';
import { silentLogger } from '../../../shared/logging/index.js';
import { Alerting, type LeaderRelay } from '../../alerting/index.js';
import { CHANNELS, config, Fleet, Recorder } from '../../alerting/fleet-fixture.js';
import { AuditLog, auditConfigSchema } from '../../audit/index.js';
import { CommandRouter } from '../../commands/index.js';
import { Authenticator, FileTokenRegistry, TokenStore } from '../../policy/index.js';
import { WatchFeed } from '../../watch/index.js';
import { buildHttpApi } from './server.js';

const SECRET = 'pd-webhook-secret-1';
const URL_ = '/api/v1/alerts/pagerduty/webhook';

const OTHER_SECRET = 'pd-webhook-secret-of-another-service';

// The API does not own the audit log it is given: each test's log is closed after it.
const audits: AuditLog[] = [];
afterEach(async () => {
  await Promise.all(audits.splice(0).map((a) => a.close()));
});

async function setup() {
  const clock = new ManualClock(Date.parse('2026-12-07T03:00:00Z'));
  const fleet = new Fleet(clock);
  const rec = new Recorder();
  const pagerduty = CHANNELS.find((c) => c.type === 'pagerduty')!;
  // A second PagerDuty service this hub could page (no policy here does): its own webhook secret.
  const channels = [...CHANNELS.map((c) => (c.type === 'pagerduty' ? { ...c, webhook_secret: SECRET } : c)), { ...pagerduty, name: 'pd-other', webhook_secret: OTHER_SECRET }];
  const alerting = new Alerting(config({ channels, policies: { critical: { escalation_time: '5m', channels: ['pagerduty', 'email'] } }, rules: { node_down: { severity: 'critical', for: 0 }, partition_nodes_unavailable: { enabled: false } } }), { state: fleet.state, logger: silentLogger(), clock, region: 'eu', notifiers: rec.factory, sleep: async () => undefined });
  const step = async (ms: number) => {
    clock.advance(ms);
    await alerting.tick();
    await alerting.idle();
  };
  const auditDir = mkdtempSync(join(tmpdir(), 'a-'));
  const audit = new AuditLog(auditConfigSchema.parse({ dir: auditDir }), { hubId: 'h', dataDir: auditDir, logger: silentLogger() });
  audits.push(audit);
  const tokens = new TokenStore(mkdtempSync(join(tmpdir(), 't-')));
  const { app } = await buildHttpApi({
    logger: silentLogger(),
    authenticator: new Authenticator(tokens),
    state: fleet.state,
    commands: new CommandRouter({ timeoutMs: 1000 }),
    watch: new WatchFeed(fleet.state),
    readiness: () => ({ ready: true, checks: {} }),
    metrics: async () => ({ contentType: 'text/plain', body: '' }),
    tokens: new FileTokenRegistry(tokens),
    audit,
    alerting,
  });
  fleet.down('n2');
  await step(0);
  await step(10_000); // group_wait: step 1 of the critical policy
  const dedup = rec.of('pagerduty')[0].dedup_key;
  const post = (payload: string | Buffer, signature?: string) =>
    app.inject({ method: 'POST', url: URL_, payload, headers: { 'content-type': 'application/json', ...(signature ? { 'x-pagerduty-signature': signature } : {}) } });
  const records = () => audit.query({ limit: 1000 }).items.filter((r) => r.action === 'alerts:pagerduty-webhook');
  return { app, alerting, rec, step, dedup, post, records };
}

const event = (id: string, type: string, key: string, agent = 'Ana Operator') =>
  JSON.stringify({ event: { id, event_type: type, resource_type: 'incident', occurred_at: '2026-12-07T03:00:11Z', agent: { id: 'PLH1HKV', summary: agent, type: 'user_reference' }, client: null, data: { id: 'PGR0VU2', type: 'incident', number: 7, status: type.split('.')[1], incident_key: key, title: 'node n2 of c1 is down' } } });
const sign = (body: string, ...secrets: string[]) => secrets.map((s) => `v1=${createHmac('sha256', s).update(body).digest('hex')}`).join(',');

describe('POST /api/v1/alerts/pagerduty/webhook', () => {
  it('incident.acknowledged (signed, during a secret rotation) stops the escalation; the agent is the acknowledger; a redelivery acts once', async () => {
    const { app, alerting, rec, step, dedup, post, records } = await setup();
    const body = event('ev-1', 'incident.acknowledged', dedup);
    const res = await post(body, sign(body, 'the-old-secret', SECRET));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ event_id: 'ev-1', outcome: 'acknowledged', alerts: [expect.any(String)] });
    expect(alerting.list()[0].groups[0]).toMatchObject({ dedup_key: dedup, acked_by: 'pagerduty: Ana Operator' });
    // The other channel hears it, as when an operator acknowledges.
    expect(rec.of('email', 'acknowledged')).toHaveLength(1);
    await step(6 * 60_000);
    expect(rec.of('pagerduty', 'firing').map((n) => n.step)).toEqual([1]); // no step 2
    const again = await post(body, sign(body, SECRET));
    expect(again.json()).toMatchObject({ outcome: 'duplicate' });
    expect(rec.of('email', 'acknowledged')).toHaveLength(1);
    expect(records().at(-2)).toMatchObject({ outcome: 'success', status: 200, user: 'pagerduty: Ana Operator', resource: expect.stringContaining(dedup) });
    await app.close();
  });

  it('incident.resolved resolves the alert here: resolve notifications go out, the history names who resolved it in PagerDuty', async () => {
    const { app, alerting, rec, dedup, post } = await setup();
    const body = event('ev-2', 'incident.resolved', dedup, 'Ben On-Call');
    const res = await post(body, sign(body, SECRET));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ outcome: 'resolved' });
    expect(alerting.list()[0]).toMatchObject({ state: 'resolved', resolved_by: 'pagerduty: Ben On-Call' });
    expect(rec.of('email', 'resolved')).toHaveLength(1);
    expect(alerting.listHistory({})[0]).toMatchObject({ resolved_by: 'pagerduty: Ben On-Call' });
    await app.close();
  });

  it('bad, missing or tampered signatures: 401, audited, nothing changes', async () => {
    const { app, alerting, rec, dedup, post, records } = await setup();
    const body = event('ev-3', 'incident.acknowledged', dedup);
    const sent = rec.sent.length;
    expect((await post(body)).statusCode).toBe(401);
    expect((await post(body, sign(body, 'not-the-secret'))).statusCode).toBe(401);
    const tampered = body.replace('incident.acknowledged', 'incident.resolved');
    const refused = await post(tampered, sign(body, SECRET));
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toMatchObject({ code: 'SF_AUTH_UNAUTHENTICATED' });
    expect(alerting.list()[0]).toMatchObject({ state: 'firing', groups: [{ acked_by: null }] });
    expect(rec.sent.length).toBe(sent);
    expect(records().filter((r) => r.status === 401)).toHaveLength(3);
    expect(records().at(-1)).toMatchObject({ outcome: 'failed', reason: expect.stringContaining('does not match') });
    // The signature is the credential: it proves the event id too, so a refused delivery does not use it up.
    expect((await post(body, sign(body, SECRET))).json()).toMatchObject({ outcome: 'acknowledged' });
    await app.close();
  });

  it('a delivery older than a day (a recorded one replayed) and one signed only with another service\'s secret change nothing', async () => {
    const { app, alerting, rec, dedup, post } = await setup();
    const sent = rec.sent.length;
    const old = event('ev-old', 'incident.resolved', dedup).replace('2026-12-07T03:00:11Z', '2026-12-05T23:00:00Z');
    expect((await post(old, sign(old, SECRET))).json()).toMatchObject({ outcome: 'stale' });
    const other = event('ev-other', 'incident.acknowledged', dedup);
    const res = await post(other, sign(other, OTHER_SECRET));
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ outcome: 'unknown_incident' });
    expect(alerting.list()[0]).toMatchObject({ state: 'firing', groups: [{ acked_by: null }] });
    expect(rec.sent.length).toBe(sent);
    // Neither used up its event id: the right secret, in time, still acts.
    expect((await post(other, sign(other, SECRET))).json()).toMatchObject({ outcome: 'acknowledged' });
    await app.close();
  });

  it('malformed JSON 400, over 64 KiB 413, an unknown incident or another event type 202 without effect', async () => {
    const { app, alerting, dedup, post } = await setup();
    const bad = '{"event": {"id": ';
    expect((await post(bad, sign(bad, SECRET))).statusCode).toBe(400);
    const big = JSON.stringify({ event: { id: 'ev-big', event_type: 'incident.annotated', data: { content: 'x'.repeat(70 * 1024) } } });
    const tooLarge = await post(big, sign(big, SECRET));
    expect(tooLarge.statusCode).toBe(413);
    expect(tooLarge.json()).toMatchObject({ code: 'SF_API_PAYLOAD_TOO_LARGE' });
    const unknown = event('ev-4', 'incident.acknowledged', 'some-other-tool-incident');
    expect((await post(unknown, sign(unknown, SECRET))).statusCode).toBe(202);
    const other = event('ev-5', 'incident.priority_updated', dedup);
    const ignored = await post(other, sign(other, SECRET));
    expect(ignored.statusCode).toBe(202);
    expect(ignored.json()).toMatchObject({ outcome: 'ignored' });
    expect(alerting.list()[0]).toMatchObject({ state: 'firing', groups: [{ acked_by: null }] });
    await app.close();
  });

  it('on a hub group follower: a verified delivery goes to the leader as it came (raw body, signature) and the leader\'s answer comes back; a relayed one is not relayed again', async () => {
    const { app, alerting, dedup, post } = await setup();
    const relayed: { path: string; headers: Record<string, string>; body: string }[] = [];
    const relay: LeaderRelay = {
      forward: async (path, headers, body) => {
        relayed.push({ path, headers, body: body.toString('utf8') });
        return { status: 200, contentType: 'application/json', body: JSON.stringify({ outcome: 'acknowledged', on: 'the leader' }) };
      },
    };
    alerting.joinGroup({ relay });
    // What a follower is: a region's shared state it does not lead (writes() is how the route asks).
    Object.defineProperty(alerting, 'writes', { value: () => false });
    const body = event('ev-9', 'incident.acknowledged', dedup);
    expect((await post(body, sign(body, 'wrong-secret-000'))).statusCode).toBe(401);
    expect(relayed).toHaveLength(0); // checked here first: a forged delivery never reaches the leader
    const res = await post(body, sign(body, SECRET));
    expect(res.json()).toEqual({ outcome: 'acknowledged', on: 'the leader' });
    expect(relayed).toEqual([{ path: URL_, headers: { 'content-type': 'application/json', 'x-pagerduty-signature': sign(body, SECRET) }, body }]);
    // Nothing changed on the follower itself.
    expect(alerting.list()[0].groups[0].acked_by).toBeNull();
    const loop = await app.inject({ method: 'POST', url: URL_, payload: body, headers: { 'content-type': 'application/json', 'x-pagerduty-signature': sign(body, SECRET), 'x-sfleet-relayed-by': 'hub-b' } });
    expect(loop.statusCode).toBe(503);
    expect(loop.json()).toMatchObject({ code: 'SF_ALERTING_LEADER_UNAVAILABLE' });
    expect(relayed).toHaveLength(1);
    await app.close();
  });
});
