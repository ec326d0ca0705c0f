// POST/GET/DELETE /api/v1/tokens through the real gate (authenticator, RBAC) on a standalone
// hub's tokens.json: what a caller may grant, the secret shown once, revocation.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../shared/logging/index.js';
import { CommandRouter } from '../../commands/index.js';
import { FleetState } from '../../fleet/index.js';
import { Authenticator, FileTokenRegistry, Rbac, rbacConfigSchema, TokenStore } from '../../policy/index.js';
import { WatchFeed } from '../../watch/index.js';
import { buildHttpApi } from './server.js';

const RBAC = rbacConfigSchema.parse({
  roles: {
    token_admin: { permissions: ['tokens:*'], inherits: ['operator'] },
    pm: { permissions: ['jobs:read', 'tokens:*'], filters: { account: '${user.project}' } },
  },
  bindings: [{ service: 'deploy-bot', role: 'admin' }],
});

async function hub() {
  const dir = mkdtempSync(join(tmpdir(), 'tok-'));
  const store = new TokenStore(dir);
  const state = new FleetState();
  const { app } = await buildHttpApi({
    logger: silentLogger(),
    authenticator: new Authenticator(store),
    rbac: new Rbac(RBAC),
    state,
    commands: new CommandRouter({ timeoutMs: 1000 }),
    watch: new WatchFeed(state),
    readiness: () => ({ ready: true, checks: {} }),
    metrics: async () => ({ contentType: 'text/plain', body: '' }),
    tokens: new FileTokenRegistry(store),
  });
  const bearer = (roles: string[], attributes?: Record<string, string>) => ({ authorization: `Bearer ${store.create(`c-${roles.join('-')}`, undefined, { roles, ...(attributes ? { attributes } : {}) }).token}` });
  return { app, store, dir, bearer };
}

describe('token API', () => {
  it('an operator with tokens:create mints a viewer token, not an admin one; the secret is shown once and stored hashed', async () => {
    const { app, dir, bearer } = await hub();
    const op = bearer(['token_admin']);
    const admin = await app.inject({ method: 'POST', url: '/api/v1/tokens', headers: op, payload: { name: 'grafana', roles: ['admin'] } });
    expect(admin.statusCode).toBe(403);
    expect(admin.json()).toMatchObject({ code: 'SF_AUTH_FORBIDDEN', detail: expect.stringContaining('role admin') });

    const ok = await app.inject({ method: 'POST', url: '/api/v1/tokens', headers: op, payload: { name: 'grafana', roles: ['viewer'], ttl: '1h' } });
    expect(ok.statusCode).toBe(201);
    const made = ok.json<{ id: string; token: string; roles: string[]; created_by: string; expires_at: string }>();
    expect(made).toMatchObject({ roles: ['viewer'], created_by: 'service:c-token_admin' });
    expect(made.token).toMatch(/^sft_[a-f0-9]{16}_/);
    // The secret is everything after "sft_<id>_": base64url, so it may itself hold "_".
    const secret = made.token.replace(/^sft_[a-f0-9]{16}_/, '');
    expect(secret).toHaveLength(43);
    expect(readFileSync(join(dir, 'tokens.json'), 'utf8')).not.toContain(secret);
    // The new token works, with the viewer's rights only.
    const use = { authorization: `Bearer ${made.token}` };
    expect((await app.inject({ method: 'GET', url: '/api/v1/clusters', headers: use })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/api/v1/tokens', headers: use })).statusCode).toBe(403);
    // Listed without secret or hash.
    const list = await app.inject({ method: 'GET', url: '/api/v1/tokens', headers: op });
    expect(list.body).not.toContain(made.token);
    expect(list.body).not.toContain('"hash"');
    expect(list.json<{ items: { id: string }[] }>().items.map((t) => t.id)).toContain(made.id);
    // Revoked: refused at once.
    expect((await app.inject({ method: 'DELETE', url: `/api/v1/tokens/${made.id}`, headers: op })).json()).toEqual({ revoked: [{ id: made.id, name: 'grafana' }] });
    expect((await app.inject({ method: 'GET', url: '/api/v1/clusters', headers: use })).statusCode).toBe(401);
    expect((await app.inject({ method: 'DELETE', url: `/api/v1/tokens/${made.id}`, headers: op })).statusCode).toBe(404);
    await app.close();
  });

  it('a name an rbac binding widens (service deploy-bot -> admin) cannot be taken by an operator', async () => {
    const { app, bearer } = await hub();
    const r = await app.inject({ method: 'POST', url: '/api/v1/tokens', headers: bearer(['token_admin']), payload: { name: 'deploy-bot', roles: ['viewer'] } });
    expect(r.statusCode).toBe(403);
    expect(r.json<{ detail: string }>().detail).toContain('role admin');
    await app.close();
  });

  it('a caller whose rights are row-filtered cannot hand them on unfiltered; one without tokens:create is refused; bad input is 400', async () => {
    const { app, bearer } = await hub();
    const pm = bearer(['pm'], { project: 'research' });
    const filtered = await app.inject({ method: 'POST', url: '/api/v1/tokens', headers: pm, payload: { name: 'x', roles: ['viewer'] } });
    expect(filtered.statusCode).toBe(403);
    const pmOwn = await app.inject({ method: 'POST', url: '/api/v1/tokens', headers: pm, payload: { name: 'x', roles: ['pm'] } });
    expect(pmOwn.statusCode).toBe(403);
    expect(pmOwn.json<{ detail: string }>().detail).toContain('only on some rows');
    expect((await app.inject({ method: 'POST', url: '/api/v1/tokens', headers: bearer(['viewer']), payload: { name: 'x', roles: ['viewer'] } })).statusCode).toBe(403);
    const admin = bearer(['admin']);
    for (const payload of [{ name: 'x' }, { name: 'x', roles: [] }, { name: 'bad name', roles: ['viewer'] }, { name: 'x', roles: ['viewer'], ttl: 'soon' }, { name: 'x', roles: ['viewer'], extra: 1 }]) {
      expect((await app.inject({ method: 'POST', url: '/api/v1/tokens', headers: admin, payload })).statusCode, JSON.stringify(payload)).toBe(400);
    }
    expect((await app.inject({ method: 'POST', url: '/api/v1/tokens', headers: admin, payload: { name: 'x', roles: ['nosuchrole'] } })).statusCode).toBe(403);
    await app.close();
  });
});
