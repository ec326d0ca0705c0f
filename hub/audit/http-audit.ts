// REST: every answer passes the onSend hook, which writes the audit record (durably) before
// the answer goes out: success, 401 (failed authentication: the onRequest gate), 403 (RBAC
// denial), bad input, errors. Fail closed, decided as follows:
//  - before a mutation runs (preHandler), a log whose last write failed refuses it: 503
//    SF_AUDIT_UNAVAILABLE, nothing was done;
//  - if the record of a mutation (or of a denial / failed authentication) cannot be written,
//    the answer is replaced by 500 SF_AUDIT_WRITE_FAILED: the caller is not told "done" for
//    something the log does not hold.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BadRequestError, PROBLEM_CONTENT_TYPE, toProblem } from '../../shared/errors/index.js';
import { parseSince } from '../events/index.js';
import type { Visibility } from '../policy/index.js';
import type { AuditLog } from './audit-log.js';
import { AuditUnavailableError, AuditWriteError } from './errors.js';
import type { AuditEvent, AuditOutcome } from './record.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The audit action when it is not the permission (e.g. auth:login on a public route). */
    audit_action?: string;
  }
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const CONTEXT = Symbol('auditContext');
const REFUSED = Symbol('auditRefused');

type AuditContext = Partial<Pick<AuditEvent, 'user' | 'auth_method' | 'resource' | 'tenant' | 'action'>>;

/** Lets a handler name what the generic hook cannot know (the claimed user of a failed login, the account...). */
export function setAuditContext(request: FastifyRequest, context: AuditContext): void {
  const r = request as FastifyRequest & { [CONTEXT]?: AuditContext };
  r[CONTEXT] = { ...r[CONTEXT], ...context };
}

export function outcomeFor(status: number): AuditOutcome {
  if (status < 400) return 'success';
  if (status === 403) return 'denied';
  if (status >= 500) return 'error';
  return 'failed';
}

function reasonOf(payload: unknown, reply: FastifyReply): string | undefined {
  if (reply.statusCode < 400 || typeof payload !== 'string') return undefined;
  try {
    const problem = JSON.parse(payload) as { detail?: unknown };
    return typeof problem.detail === 'string' ? problem.detail.slice(0, 1024) : undefined;
  } catch {
    return undefined;
  }
}

function httpEvent(request: FastifyRequest, reply: FastifyReply, payload: unknown): AuditEvent {
  const config = (request.routeOptions.config ?? {}) as { permission?: string; public?: boolean; audit_action?: string };
  const context = (request as FastifyRequest & { [CONTEXT]?: AuditContext })[CONTEXT] ?? {};
  const principal = (request as FastifyRequest & { principal?: { name: string; method: string } | null }).principal ?? undefined;
  const read = request.method === 'GET' || request.method === 'HEAD';
  const action = context.action ?? config.audit_action ?? config.permission ?? `${config.public ? 'public' : 'api'}:${read ? 'read' : 'write'}`;
  const params = (request.params ?? {}) as Record<string, string>;
  const query = (request.query ?? {}) as Record<string, unknown>;
  const path = request.url.split('?')[0];
  const values = Object.values(params);
  const noun = action.split(':')[0].replace(/s$/, '');
  const cluster = params.cluster ?? (typeof query.cluster === 'string' ? query.cluster : undefined);
  const status = reply.statusCode;
  return {
    action,
    resource: context.resource ?? (values.length ? `${noun} ${values.join('/')}` : path),
    outcome: outcomeFor(status),
    status,
    reason: reasonOf(payload, reply),
    user: context.user ?? principal?.name ?? null,
    auth_method: context.auth_method ?? principal?.method ?? null,
    source_ip: request.ip,
    request_id: String(request.id),
    tenant: context.tenant ?? (cluster ? { cluster } : null),
    transport: 'http',
    // The router's own refusals (no route, bad method) and can-i's answers are recorded like denials:
    // a scan of the API, or of what a credential may do, is in the record whatever the level rules say.
    required: MUTATING.has(request.method) || status === 401 || status === 403 || request.routeOptions.url === undefined || action === 'auth:can-i',
    // Never headers: Authorization, cookies and session tokens stay out whatever the level.
    request: { method: request.method, path, params, query, ...(request.body !== undefined ? { body: request.body } : {}) },
  };
}

export function registerAuditHooks(app: FastifyInstance, audit: AuditLog): void {
  app.addHook('preHandler', async (request) => {
    if (MUTATING.has(request.method) && !audit.writable) {
      (request as FastifyRequest & { [REFUSED]?: boolean })[REFUSED] = true;
      throw new AuditUnavailableError();
    }
  });
  app.addHook('onSend', async (request, reply, payload) => {
    void reply.header('x-request-id', String(request.id));
    const event = httpEvent(request, reply, payload);
    try {
      await audit.record(event);
      return payload;
    } catch {
      // Nothing was done for a refused mutation: its 503 says so already.
      if (!event.required || (request as FastifyRequest & { [REFUSED]?: boolean })[REFUSED]) return payload;
      const problem = toProblem(new AuditWriteError(), request.url.split('?')[0]);
      void reply.code(problem.status).type(PROBLEM_CONTENT_TYPE);
      return JSON.stringify(problem);
    }
  });
}

const s = { type: 'string' } as const;
const sn = { type: ['string', 'null'] } as const;
/** A record as the log holds it (record.ts AuditRecord); the rarer parts (request, retention, break) pass as they are. */
const AUDIT_RECORD_SCHEMA = {
  type: 'object',
  additionalProperties: true,
  required: ['seq', 'id', 'timestamp', 'level', 'user', 'action', 'resource', 'outcome', 'status', 'reason', 'source_ip', 'transport'],
  properties: {
    type: s, seq: { type: 'integer' }, id: s, timestamp: s, level: s, hub_id: s, user: sn, auth_method: sn, action: s, resource: s,
    outcome: { type: 'string', enum: ['success', 'denied', 'failed', 'error'] }, status: { type: ['integer', 'null'] }, reason: sn, source_ip: sn, request_id: sn,
    tenant: { type: ['object', 'null'], additionalProperties: true, properties: { cluster: s, account: s } }, transport: s, prev_hash: s, hash: s,
  },
} as const;

/** GET /api/v1/audit for holders of audit:read (the auditor role). */
export function registerAuditRoutes(app: FastifyInstance, audit: AuditLog): void {
  app.get(
    '/api/v1/audit',
    {
      config: { permission: 'audit:read' },
      schema: {
        summary: 'Audit records, oldest first (filters: user, action with a trailing *, outcome, resource, since/until, limit/cursor)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            user: { type: 'string', maxLength: 256 },
            action: { type: 'string', maxLength: 256 },
            resource: { type: 'string', maxLength: 512 },
            outcome: { type: 'string', enum: ['success', 'denied', 'failed', 'error'] },
            since: { type: 'string', maxLength: 64 },
            until: { type: 'string', maxLength: 64 },
            limit: { type: 'integer', minimum: 1, maximum: 5000 },
            cursor: { type: 'string', pattern: '^[0-9]{1,15}$' },
          },
        },
        response: { 200: { type: 'object', required: ['items', 'next_cursor'], properties: { items: { type: 'array', items: AUDIT_RECORD_SCHEMA }, next_cursor: { type: ['string', 'null'] } } } },
      },
    },
    async (request) => {
      const q = request.query as Record<string, string | number | undefined>;
      const now = Date.now();
      const time = (name: 'since' | 'until'): number | undefined => {
        if (q[name] === undefined) return undefined;
        const t = parseSince(String(q[name]), now);
        if (t === undefined) throw new BadRequestError(`${name}: expected an ISO-8601 time or a duration back from now, e.g. 2h (got "${q[name]}")`);
        return t;
      };
      // A caller acting in a tenant reads the records about its tenant's clusters and accounts only.
      const visibility = (request as FastifyRequest & { access?: Visibility }).access;
      const allow = visibility?.tenant ? (r: { tenant: { cluster?: string; account?: string } | null }): boolean => !!r.tenant?.cluster && visibility.inTenant(r.tenant) : undefined;
      return audit.query({
        ...(allow ? { allow } : {}),
        user: q.user as string | undefined,
        action: q.action as string | undefined,
        resource: q.resource as string | undefined,
        outcome: q.outcome as AuditOutcome | undefined,
        since: time('since'),
        until: time('until'),
        limit: (q.limit as number | undefined) ?? 100,
        cursor: q.cursor !== undefined ? Number(q.cursor) : undefined,
      });
    },
  );
}

export { AuditUnavailableError, AuditWriteError };

/**
 * Requests Node's HTTP parser refuses before any route sees them (headers over the size limit,
 * malformed requests): recorded, then answered (hub/api/rest/client-error.ts answers once this resolves).
 */
export function auditRefusedRequest(audit: AuditLog): (refused: { status: number; remote_address?: string }, detail: string) => Promise<void> {
  return async (refused, detail) => {
    // A request that only timed out carries nobody's action.
    if (refused.status === 408) return;
    await audit.record({ action: 'api:request', resource: 'http', outcome: 'failed', status: refused.status, reason: detail, source_ip: refused.remote_address ?? null, transport: 'http', required: true });
  };
}
