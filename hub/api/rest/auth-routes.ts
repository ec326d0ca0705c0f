// GET /api/v1/auth/whoami and /api/v1/auth/can-i: the caller's identity, roles and an explained
// RBAC decision (`sfleet auth whoami`, `sfleet auth can-i VERB RESOURCE [--as USER]`).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BadRequestError } from '../../../shared/errors/index.js';
import { canonicalResource, RESOURCES, type Visibility, type Principal } from '../../policy/index.js';
import { decisionSchema } from './response-schemas.js';

function access(request: FastifyRequest): Visibility {
  return (request as FastifyRequest & { access: Visibility }).access;
}

const str = { type: 'string', maxLength: 256 } as const;

/** `--as` names a user, or "client:NAME" / "service:NAME" for a certificate or a token. */
function impersonated(as: string, groups: string | undefined, attrs: string | undefined): Principal {
  const m = /^(client|service|user):(.+)$/.exec(as);
  const kind = (m?.[1] ?? 'user') as 'client' | 'service' | 'user';
  const attributes: Record<string, string> = {};
  for (const pair of (attrs ?? '').split(',').filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new BadRequestError(`as_attrs: "${pair}" is not key=value`);
    attributes[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return {
    name: m ? m[2] : as,
    role: kind,
    method: kind === 'client' ? 'mtls' : kind === 'service' ? 'token' : 'local',
    groups: (groups ?? '').split(',').map((g) => g.trim()).filter(Boolean),
    attributes,
  };
}

const whoamiSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'kind', 'method', 'groups', 'attributes', 'roles'],
  properties: {
    name: { type: 'string' },
    kind: { type: 'string' },
    method: { type: 'string' },
    groups: { type: 'array', items: { type: 'string' } },
    attributes: { type: 'object', additionalProperties: { type: 'string' } },
    roles: { type: 'array', items: { type: 'object', additionalProperties: false, required: ['role', 'via'], properties: { role: { type: 'string' }, via: { type: 'string' } } } },
    // With tenants: the one this request acts in, and which of the caller's names matched it.
    tenant: { type: 'object', additionalProperties: false, required: ['name', 'via'], properties: { name: { type: 'string' }, via: { type: 'string' } } },
  },
} as const;

export function registerAuthRoutes(app: FastifyInstance): void {
  app.get('/api/v1/auth/whoami', { config: { permission: 'auth:self' }, schema: { summary: 'Who the hub takes the caller for: identity, groups, attributes and RBAC roles (with the binding that gives each)', response: { 200: whoamiSchema } } }, async (request) => {
    const visibility = access(request);
    const p = visibility.principal;
    const tenant = visibility.tenant ? { tenant: { name: visibility.tenant.name, via: visibility.tenant.via } } : {};
    return { name: p.name, kind: p.role, method: p.method, groups: p.groups, attributes: p.attributes, roles: visibility.grants(), ...tenant };
  });

  app.get(
    '/api/v1/auth/can-i',
    {
      // Audited as auth:can-i, always (http-audit.ts): asking what a credential may do is recorded like a refusal.
      config: { permission: 'auth:self', audit_action: 'auth:can-i' },
      schema: {
        summary: 'May the caller (or, with auth:impersonate, `as`) do VERB on RESOURCE? The decision explains itself: bindings, roles, the matching permission, row filters',
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['verb', 'resource'],
          properties: { verb: { type: 'string', pattern: '^(\\*|[a-z][a-z_-]{0,31})$' }, resource: str, as: str, as_groups: str, as_attrs: { type: 'string', maxLength: 2048 } },
        },
        response: { 200: decisionSchema },
      },
    },
    async (request) => {
      const q = request.query as { verb: string; resource: string; as?: string; as_groups?: string; as_attrs?: string };
      const resource = canonicalResource(q.resource);
      if (!resource) throw new BadRequestError(`unknown resource "${q.resource}"; known: ${Object.keys(RESOURCES).join(', ')}`);
      const permission = `${resource}:${q.verb}`;
      const visibility = access(request);
      if (q.as) return visibility.decideAs(impersonated(q.as, q.as_groups, q.as_attrs), permission);
      if (q.as_groups || q.as_attrs) throw new BadRequestError('as_groups and as_attrs go with as');
      return visibility.decide(permission);
    },
  );
}
