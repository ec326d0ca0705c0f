import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../shared/logging/index.js';
import { CommandRouter } from '../../commands/index.js';
import { FleetState } from '../../fleet/index.js';
import { FleetServiceService } from '../../../generated/fleet/v1/fleet.js';
import { Authenticator, FileTokenRegistry, isKnownPermission, Rbac, rbacConfigSchema, TokenStore } from '../../policy/index.js';
import { GRPC_PERMISSIONS } from '../grpc/fleet-service.js';
import { WatchFeed } from '../../watch/index.js';
import { buildHttpApi } from './server.js';
import { Admission, registerSubmitRoute, submitConfigSchema, SubmitService } from '../../submit/index.js';
import { ManualClock } from '../../../shared/clock/index.js';
import { AuditLog, auditConfigSchema } from '../../audit/index.js';
import { registerComplianceRoutes } from '../../compliance/index.js';
import { kerberosConfigSchema, startKerberos } from '../../login/kerberos/index.js';
import { keytabFile } from '../../login/kerberos/token-fixture.js';
import { MemorySessionStore } from '../../login/sessions/index.js';

async function build(tokens = new TokenStore(mkdtempSync(join(tmpdir(), 't-'))), rbac?: Rbac) {
  const state = new FleetState();
  const commands = new CommandRouter({ timeoutMs: 1000 });
  const submit = new SubmitService({ commands, admission: new Admission({ state, clock: new ManualClock(0) }, { ttlMs: 1000 }) }, submitConfigSchema.parse(undefined));
  const auditDir = mkdtempSync(join(tmpdir(), 'a-'));
  const audit = new AuditLog(auditConfigSchema.parse({ dir: auditDir }), { hubId: 'h', dataDir: auditDir, logger: silentLogger() });
  const mfa = { enabled: false, required_roles: [], required_groups: [], required_for_local: false };
  const compliance = { audit: audit.config, auditFloors: [], verify: () => audit.verify(), query: () => ({ items: [] }), encryptionAtRest: { enabled: false }, mfa, pseudonymKey: false };
  return buildHttpApi({
    logger: silentLogger(),
    extraRoutes: [(a) => registerSubmitRoute(a, submit), (a) => registerComplianceRoutes(a, { hubId: 'h', person: { audit }, report: compliance })],
    authenticator: new Authenticator(tokens),
    rbac,
    state,
    commands,
    watch: new WatchFeed(state),
    readiness: () => ({ ready: true, checks: {} }),
    metrics: async () => ({ contentType: 'text/plain', body: '' }),
    tokens: new FileTokenRegistry(tokens),
  });
}

describe('route table', () => {
  it('every route passes the gate: only health probes are public, everything else names a permission and answers 401 without credentials', async () => {
    const { app, routes } = await build();
    expect(routes.length).toBeGreaterThan(15);
    // The token API is in the table (and so in both checks below).
    expect(routes.filter((r) => r.url.startsWith('/api/v1/tokens')).map((r) => `${r.method} ${r.url}`).sort()).toEqual(['DELETE /api/v1/tokens/:id', 'GET /api/v1/tokens', 'POST /api/v1/tokens']);
    // Submission is a route of the table, under the brief's jobs:create.
    expect(routes.find((r) => r.method === 'POST' && r.url === '/api/v1/jobs/:cluster')?.permission).toBe('jobs:create');
    // The Alertmanager intake has a permission of its own (a Prometheus service account gets only it).
    expect(routes.find((r) => r.method === 'POST' && r.url === '/api/v2/alerts')?.permission).toBe('alerts:intake');
    expect(routes.find((r) => r.method === 'GET' && r.url === '/api/v1/schedules')?.permission).toBe('schedules:read');
    // Resolved alerts with their timelines: a read of the alerts resource (the tenant filter applies).
    expect(routes.find((r) => r.method === 'GET' && r.url === '/api/v1/alerts/history')?.permission).toBe('alerts:read');
    // Backups: each route under its own verb of the backup resource; a peer's audit chain for a
    // group backup under hub:forward (hub certificates only, like forwarded commands).
    expect(routes.filter((r) => r.url.startsWith('/api/v1/backups')).map((r) => `${r.method} ${r.url} ${r.permission}`).sort()).toEqual(['GET /api/v1/backups backup:read', 'POST /api/v1/backups backup:create', 'POST /api/v1/backups/:id/verify backup:verify', 'POST /api/v1/backups/parts/audit hub:forward']);
    // Compliance: the person export, the report and the history erasure, each under its verb of the compliance resource.
    expect(routes.filter((r) => r.url.startsWith('/api/v1/compliance')).map((r) => `${r.method} ${r.url} ${r.permission}`).sort()).toEqual(['GET /api/v1/compliance/person/:name compliance:export', 'GET /api/v1/compliance/report compliance:report', 'POST /api/v1/compliance/pseudonymize compliance:erase']);
    // Exports: each kind under the export verb of its own resource (events are the cluster resource's).
    expect(routes.filter((r) => r.url.startsWith('/api/v1/export/')).map((r) => `${r.url} ${r.permission}`).sort()).toEqual([
      '/api/v1/export/audit audit:export', '/api/v1/export/events cluster:export', '/api/v1/export/history history:export', '/api/v1/export/jobs jobs:export', '/api/v1/export/nodes nodes:export',
    ]);
    for (const route of routes) {
      if (route.public) {
        // The ack link's signed token is its credential (hub/alerting/ack-link.ts); PagerDuty's
        // webhook is signed with a channel's webhook_secret (hub/alerting/pagerduty-webhook).
        expect(['/healthz', '/readyz', '/api/v1/alerts/ack-link', '/api/v1/alerts/pagerduty/webhook']).toContain(route.url);
        continue;
      }
      expect(route.permission).toMatch(/^[a-z]+:[a-z]+$/);
      // A canonical RBAC resource and one of its verbs (hub/policy/rbac/resources.ts), so a role can grant it.
      expect(isKnownPermission(route.permission!), `${route.method} ${route.url}: ${route.permission}`).toBe(true);
      const res = await app.inject({ method: route.method as 'GET', url: route.url.replace(/:cluster/, 'c').replace(/:id/, '1').replace(/:name/, 'n') });
      expect(res.statusCode, `${route.method} ${route.url}`).toBe(401);
    }
    await app.close();
  });

  it('with rbac configured and no binding, every route (and its HEAD twin) answers 403 but whoami and can-i', async () => {
    const tokens = new TokenStore(mkdtempSync(join(tmpdir(), 't-')));
    const { token } = tokens.create('nobody');
    const { app, routes } = await build(tokens, new Rbac(rbacConfigSchema.parse({})));
    for (const route of routes) {
      if (route.public) continue;
      const url = route.url.replace(/:cluster/, 'c').replace(/:id/, '1').replace(/:name/, 'n').replace('/can-i', '/can-i?verb=read&resource=jobs');
      for (const method of route.method === 'GET' ? ['GET', 'HEAD'] : [route.method]) {
        const res = await app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${token}` } });
        expect(res.statusCode, `${method} ${route.url}`).toBe(route.permission === 'auth:self' ? 200 : 403);
        if (method !== 'HEAD' && res.statusCode === 403) expect(res.json()).toMatchObject({ code: 'SF_AUTH_FORBIDDEN', detail: expect.stringContaining(`nobody (service) may not`) });
      }
    }
    await app.close();
  });

  it('the public ack link and PagerDuty webhook act only on a valid signed token or signature', async () => {
    const { app, routes } = await build();
    expect((await app.inject({ method: 'POST', url: '/api/v1/alerts/ack-link?token=forged.token' })).statusCode).toBe(404); // no alerting on this hub
    expect((await app.inject({ method: 'POST', url: '/api/v1/alerts/ack-link' })).statusCode).toBe(400);
    // PagerDuty's signed webhook: public at the gate, audited under its own action; no alerting here.
    expect(routes.find((r) => r.method === 'POST' && r.url === '/api/v1/alerts/pagerduty/webhook')).toMatchObject({ public: true });
    expect((await app.inject({ method: 'POST', url: '/api/v1/alerts/pagerduty/webhook', payload: { event: {} } })).statusCode).toBe(404);
    expect((await app.inject({ method: 'POST', url: '/api/v1/alerts/1/ack' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/api/v1/silences', payload: {} })).statusCode).toBe(401);
    await app.close();
  });

  it('every gRPC FleetService method names a known permission', () => {
    for (const method of Object.keys(FleetServiceService)) {
      const permission = (GRPC_PERMISSIONS as Record<string, string>)[method];
      expect(permission && isKnownPermission(permission), method).toBe(true);
    }
  });

  it('the Kerberos logins (API and dashboard) are public routes of the table that ask for a ticket: 401 WWW-Authenticate: Negotiate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'krb-'));
    writeFileSync(join(dir, 'hub.keytab'), keytabFile());
    const kerberos = startKerberos(kerberosConfigSchema.parse({ keytab_file: join(dir, 'hub.keytab'), require_directory_account: false }), { sessions: new MemorySessionStore(), logger: silentLogger() });
    const state = new FleetState();
    const { app, routes } = await buildHttpApi({ logger: silentLogger(), extraRoutes: [(a) => kerberos.registerRoutes(a)], authenticator: new Authenticator(new TokenStore(dir)), state, commands: new CommandRouter({ timeoutMs: 1000 }), watch: new WatchFeed(state), readiness: () => ({ ready: true, checks: {} }) });
    const login = routes.filter((r) => r.url.startsWith('/api/v1/auth/kerberos'));
    expect(login.map((r) => `${r.method} ${r.url} ${r.public ? 'public' : r.permission}`).sort()).toEqual(['GET /api/v1/auth/kerberos/login public', 'POST /api/v1/auth/kerberos public']);
    for (const route of login) {
      const res = await app.inject({ method: route.method as 'GET', url: route.url, headers: { accept: 'application/json' } });
      expect(res.statusCode, `${route.method} ${route.url}`).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Negotiate');
    }
    await app.close();
  });

  it('refuses to register a route that declares no permission', async () => {
    const { app } = await build();
    await expect(async () => app.get('/api/v1/forgotten', async () => ({}))).rejects.toThrow(/declares no permission/);
    await app.close();
  });
});
