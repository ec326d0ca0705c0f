// GET /api/v1/auth/principal: who the hub takes the caller to be, so a user can check what
// their IdP claims or SAML attributes were mapped to (name, groups, project).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Principal } from '../../policy/index.js';

export function registerPrincipalRoute(app: FastifyInstance): void {
  app.get('/api/v1/auth/principal', { config: { permission: 'principal:read' }, schema: { summary: 'The calling principal: name, method, groups, attributes' } }, async (request) => {
    const p = (request as FastifyRequest & { principal: Principal }).principal;
    return { name: p.name, method: p.method, role: p.role, groups: p.groups, attributes: p.attributes };
  });
}
