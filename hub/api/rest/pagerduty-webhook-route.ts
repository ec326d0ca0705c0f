// POST /api/v1/alerts/pagerduty/webhook: PagerDuty's v3 webhooks (hub/alerting/pagerduty-webhook).
// Public at the gate like the ack link: no certificate or token, the X-PagerDuty-Signature over
// the raw body (a pagerduty channel's webhook_secret) is the credential, checked before the body
// is parsed as the hub's JSON. Answers: 401 bad or missing signature (audited, nothing changes), 400 malformed, 413
// over 64 KiB, 202 for an unknown incident or an event type the hub does not act on (PagerDuty
// retries errors, so these are not errors), 200 with what happened otherwise. On a hub group's
// follower the verified delivery is relayed to the leader as it came (group-link.ts).
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { NotFoundError, UnauthenticatedError } from '../../../shared/errors/index.js';
import { parsePagerDutyEvent, RELAYED_BY_HEADER, matchingSecrets, AlertingLeaderUnavailableError } from '../../alerting/index.js';
import { setAuditContext } from '../../audit/index.js';
import { PayloadTooLargeError } from './client-error.js';
import type { RouteDeps } from './route-deps.js';

export const PAGERDUTY_WEBHOOK_PATH = '/api/v1/alerts/pagerduty/webhook';
/** PagerDuty's v3 payloads are a few KiB; a larger body is not one of them. */
export const PAGERDUTY_WEBHOOK_LIMIT = 64 * 1024;

export function registerPagerDutyWebhookRoute(app: FastifyInstance, deps: Pick<RouteDeps, 'alerting'>): void {
  // The bytes as they came: the signature is over them, not over a re-serialization.
  const raws = new WeakMap<FastifyRequest, Buffer>();
  app.post(
    PAGERDUTY_WEBHOOK_PATH,
    {
      config: { public: true, audit_action: 'alerts:pagerduty-webhook' },
      schema: {
        summary: 'PagerDuty v3 webhooks (signed with a pagerduty channel\'s webhook_secret): incident.acknowledged acknowledges, incident.resolved resolves the group of its incident_key',
        body: { type: 'object', additionalProperties: true },
        response: { 200: { type: 'object', additionalProperties: true }, 202: { type: 'object', additionalProperties: true } },
      },
      preParsing: async (request, _reply, payload) => {
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of payload as AsyncIterable<Buffer>) {
          size += chunk.length;
          if (size > PAGERDUTY_WEBHOOK_LIMIT) throw new PayloadTooLargeError(PAGERDUTY_WEBHOOK_LIMIT);
          chunks.push(chunk);
        }
        const raw = Buffer.concat(chunks);
        raws.set(request, raw);
        return Object.assign(Readable.from([raw]), { receivedEncodedLength: raw.length });
      },
    },
    async (request, reply) => {
      const raw = raws.get(request) ?? Buffer.alloc(0);
      // The audit record gets a summary, not a body an unknown sender chose.
      (request as FastifyRequest & { body: unknown }).body = { bytes: raw.length };
      setAuditContext(request, { user: 'pagerduty', auth_method: 'signature', resource: 'pagerduty webhook' });
      if (!deps.alerting) throw new NotFoundError('alerting is not running on this hub');
      const alerting = deps.alerting;
      const secrets = alerting.pagerDutySecrets();
      if (!secrets.length) throw new NotFoundError('no pagerduty channel of this hub has a webhook_secret: PagerDuty webhooks are not taken');
      const signature = request.headers['x-pagerduty-signature'];
      const matched = matchingSecrets(
        raw,
        signature,
        secrets.map((s) => s.secret),
      );
      if (!matched.length) throw new UnauthenticatedError(signature ? 'the X-PagerDuty-Signature does not match the body with any configured webhook_secret' : 'no X-PagerDuty-Signature header');
      const channels = secrets.filter((s) => matched.includes(s.secret)).map((s) => s.channel);
      const ev = parsePagerDutyEvent(raw);
      setAuditContext(request, { user: `pagerduty: ${ev.agent}`, resource: `pagerduty event ${ev.id} (${ev.type}${ev.incident_key ? `, dedup_key ${ev.incident_key}` : ''})` });
      (request as FastifyRequest & { body: unknown }).body = { event_id: ev.id, event_type: ev.type, incident_key: ev.incident_key ?? null, incident: ev.incident ?? null, agent: ev.agent };
      if (!alerting.writes()) {
        if (request.headers[RELAYED_BY_HEADER]) throw new AlertingLeaderUnavailableError('relayed to this hub as the leader, but it does not lead (a leader change): try again');
        const answer = await alerting.relayToLeader(PAGERDUTY_WEBHOOK_PATH, { 'content-type': 'application/json', 'x-pagerduty-signature': String(signature) }, raw);
        // The leader's answer as it gave it (its status decides whether PagerDuty retries).
        return reply.code(answer.status as 200).type(answer.contentType).send(answer.body);
      }
      const { outcome, alerts } = alerting.pagerDuty(ev, channels);
      const acted = outcome === 'acknowledged' || outcome === 'resolved' || outcome === 'already' || outcome === 'duplicate';
      return reply.code(acted ? 200 : 202).send({ event_id: ev.id, event_type: ev.type, outcome, alerts: alerts.map((a) => a.fingerprint) });
    },
  );
}
