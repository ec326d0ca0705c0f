// /api/v1/tokens: API tokens (service accounts) against a running hub, instead of editing the
// data directory. A caller may grant only roles within its own permissions (every permission of
// the role, on every row), so an operator cannot mint an admin token; a token's name may not be
// one an rbac binding gives wider roles to. The secret is in the create answer only, once; the
// store keeps its SHA-256. The audit hook records each call (never the secret).
import type { FastifyInstance } from 'fastify';
import { BadRequestError, ForbiddenError, NotFoundError } from '../../../shared/errors/index.js';
import { parseDuration } from '../../../shared/model/time.js';
import { setAuditContext } from '../../audit/index.js';
import type { TokenRegistry, TokenView } from '../../policy/index.js';
import { access, principal } from './request-access.js';

const NAME = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$' } as const;

/**
 * The tenant a caller acts in. Tenants are not in the hub yet: when they are, a caller sees and
 * revokes only its tenant's tokens and creates tokens in its own tenant only (hook: here).
 */
function tenantOf(_request: unknown): string | undefined {
  return undefined;
}

function visibleTo(tenant: string | undefined, t: TokenView): boolean {
  return tenant === undefined || t.tenant === tenant;
}

export function registerTokenRoutes(app: FastifyInstance, tokens: TokenRegistry): void {
  app.get('/api/v1/tokens', { config: { permission: 'tokens:read' }, schema: { summary: 'API tokens: names, ids, roles, expiry (never a secret)' } }, async (request) => {
    const tenant = tenantOf(request);
    return { items: tokens.list().filter((t) => visibleTo(tenant, t)) };
  });

  app.post(
    '/api/v1/tokens',
    {
      config: { permission: 'tokens:create' },
      schema: {
        summary: 'Create an API token bound to roles within the caller\'s own permissions; the answer holds the secret, once',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'roles'],
          properties: {
            name: NAME,
            roles: { type: 'array', minItems: 1, maxItems: 16, items: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_.-]{0,63}$' } },
            ttl: { type: 'string', maxLength: 32 },
            attributes: { type: 'object', maxProperties: 16, additionalProperties: { type: 'string', maxLength: 256 } },
          },
        },
      },
    },
    async (request, reply) => {
      const body = request.body as { name: string; roles: string[]; ttl?: string; attributes?: Record<string, string> };
      const caller = principal(request);
      setAuditContext(request, { resource: `token:${body.name}` });
      // Roles a binding gives any token of this name come with the new token too: they must be grantable as well.
      const visibility = access(request);
      const roles = [...new Set(body.roles)];
      for (const role of [...roles, ...visibility.boundToService(body.name)]) {
        const why = visibility.ungrantable(role);
        if (why) throw new ForbiddenError(`${caller.name} may not create a token with role ${role}: ${why}`);
      }
      // Row-filter attributes narrow what the roles show: a caller may set them only when it holds every row itself (checked above per permission).
      let ttlMs: number | undefined;
      if (body.ttl !== undefined) {
        try {
          ttlMs = parseDuration(body.ttl);
        } catch {
          throw new BadRequestError(`ttl: "${body.ttl.slice(0, 32)}" is not a duration (e.g. 30d, 12h)`);
        }
        if (!(ttlMs > 0)) throw new BadRequestError('ttl must be positive');
      }
      const tenant = tenantOf(request);
      const { token, record } = await tokens.create(body.name, ttlMs, {
        roles,
        ...(body.attributes ? { attributes: body.attributes } : {}),
        created_by: `${caller.role}:${caller.name}`,
        ...(tenant ? { tenant } : {}),
      });
      setAuditContext(request, { resource: `token:${record.id}` });
      const { hash: _hash, ...view } = record;
      void reply.code(201);
      return { ...view, token };
    },
  );

  app.delete(
    '/api/v1/tokens/:id',
    { config: { permission: 'tokens:revoke' }, schema: { summary: 'Revoke a token (by id or name) on every hub of the group', params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 } } } } },
    async (request) => {
      const { id } = request.params as { id: string };
      const caller = principal(request);
      setAuditContext(request, { resource: `token:${id}` });
      const tenant = tenantOf(request);
      if (!tokens.list().some((t) => (t.id === id || t.name === id) && visibleTo(tenant, t))) throw new NotFoundError(`no token "${id.slice(0, 64)}"`);
      const revoked = await tokens.revoke(id, `${caller.role}:${caller.name}`);
      return { revoked: revoked.map((t) => ({ id: t.id, name: t.name })) };
    },
  );
}
