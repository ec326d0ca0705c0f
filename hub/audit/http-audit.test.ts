import Fastify from 'fastify';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ForbiddenError, toProblem } from '../../shared/errors/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { buildHttpApi } from '../api/rest/server.js';
import { CommandRouter } from '../commands/index.js';
import { FleetState } from '../fleet/index.js';
import { Authenticator, TokenStore, type BearerVerifier } from '../policy/index.js';
import { WatchFeed } from '../watch/index.js';
import { NodeAuditFiles, type AuditFiles } from './audit-files.js';
import { AuditLog } from './audit-log.js';
import { auditConfigSchema } from './config.js';
import { registerAuditHooks, setAuditContext } from './http-audit.js';

const alice: BearerVerifier = { kind: 'test', verify: (c) => (c === 'good' ? { name: 'alice', method: 'local', role: 'user', groups: [], attributes: {} } : undefined) };

function auditLog(files?: AuditFiles) {
  const dir = mkdtempSync(join(tmpdir(), `audit-${process.pid}-`));
  return new AuditLog(auditConfigSchema.parse({ dir }), { hubId: 'h', dataDir: dir, logger: silentLogger(), files });
}

describe('REST answers are audited before they go out, and fail closed', () => {
  it('refuses mutations while the log cannot be written, keeps serving reads, and recovers', async () => {
    const dir = mkdtempSync(join(tmpdir(), `audit-${process.pid}-`));
    const real = new NodeAuditFiles(dir);
    real.ensureDir();
    let broken = false;
    const files: AuditFiles = Object.assign(Object.create(real) as AuditFiles, {
      append: (name: string, data: string) => (broken ? Promise.reject(Object.assign(new Error('disk full'), { code: 'ENOSPC' })) : real.append(name, data)),
    });
    const audit = auditLog(files);
    await audit.open();
    const state = new FleetState();
    const commands = new CommandRouter({ timeoutMs: 1000 });
    let ran = 0;
    const run = commands.run.bind(commands);
    commands.run = ((...args: Parameters<typeof run>) => (ran++, run(...args))) as typeof run;
    const { app, routes } = await buildHttpApi({
      logger: silentLogger(),
      authenticator: new Authenticator(new TokenStore(dir), [alice]),
      audit,
      state,
      commands,
      watch: new WatchFeed(state),
      readiness: () => ({ ready: true, checks: {} }),
      metrics: async () => ({ contentType: 'text/plain', body: '' }),
    });
    // The query API is behind its own permission (the auditor role holds it) like every route.
    expect(routes.find((r) => r.url === '/api/v1/audit')).toMatchObject({ method: 'GET', permission: 'audit:read', public: false });
    expect((await app.inject({ method: 'GET', url: '/api/v1/audit' })).statusCode).toBe(401);
    const post = () => app.inject({ method: 'POST', url: '/api/v1/jobs/c1/7/cancel', headers: { authorization: 'Bearer good' }, payload: {} });

    const first = await post();
    expect(first.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const recorded = audit.query({ action: 'jobs:*', limit: 10 }).items;
    expect(recorded).toEqual([expect.objectContaining({ action: 'jobs:cancel', user: 'alice', auth_method: 'local', request_id: first.headers['x-request-id'], status: first.statusCode })]);

    broken = true;
    const unaudited = await post();
    expect(unaudited.statusCode).toBe(500);
    expect(unaudited.json()).toMatchObject({ code: 'SF_AUDIT_WRITE_FAILED' });
    expect(ran).toBe(2);
    const refused = await post();
    expect(refused.statusCode).toBe(503);
    expect(refused.json()).toMatchObject({ code: 'SF_AUDIT_UNAVAILABLE', detail: expect.stringContaining('changes are refused') });
    expect(ran).toBe(2);
    expect((await app.inject({ method: 'GET', url: '/api/v1/jobs', headers: { authorization: 'Bearer good' } })).statusCode).toBe(200);

    broken = false;
    // The refusal's own record is the probe: once it is written, mutations go through again.
    expect((await post()).statusCode).toBe(503);
    expect(audit.writable).toBe(true);
    expect((await post()).json().code).not.toMatch(/SF_AUDIT/);
    expect(ran).toBe(3);
    expect(audit.verify()).toMatchObject({ ok: true, records: 4 });
    await app.close();
    await audit.close();
  });

  it('records a denial (403) with the handler-supplied context', async () => {
    const audit = auditLog();
    await audit.open();
    const app = Fastify();
    registerAuditHooks(app, audit);
    app.setErrorHandler((err, req, reply) => {
      const p = toProblem(err, req.url);
      void reply.code(p.status).type('application/problem+json').send(p);
    });
    app.post('/api/v1/auth/login', { config: { audit_action: 'auth:login' } }, async (req) => {
      setAuditContext(req, { user: 'mallory', auth_method: 'local' });
      throw new ForbiddenError('account locked');
    });
    const res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'mallory', password: 'x' } });
    expect(res.statusCode).toBe(403);
    expect(audit.query({ limit: 10 }).items).toEqual([
      expect.objectContaining({ action: 'auth:login', outcome: 'denied', status: 403, user: 'mallory', reason: 'account locked', resource: '/api/v1/auth/login', level: 'Metadata' }),
    ]);
    expect(audit.query({ limit: 10 }).items[0].request).toBeUndefined();
    await app.close();
    await audit.close();
  });
});

describe("the router's own refusals and can-i are audited like any refusal", () => {
  it('an unknown route (404), a bad method (405, with Allow) and can-i answers are recorded at the default level, which drops reads', async () => {
    const dir = mkdtempSync(join(tmpdir(), `audit-${process.pid}-`));
    const audit = auditLog();
    await audit.open();
    const state = new FleetState();
    const { app } = await buildHttpApi({
      logger: silentLogger(),
      authenticator: new Authenticator(new TokenStore(dir), [alice]),
      audit,
      state,
      commands: new CommandRouter({ timeoutMs: 1000 }),
      watch: new WatchFeed(state),
      readiness: () => ({ ready: true, checks: {} }),
      metrics: async () => ({ contentType: 'text/plain', body: '' }),
    });
    const as = { authorization: 'Bearer good' };
    // An ordinary read is not recorded by the default rules ("*:read" at None): the refusals below are, all the same.
    expect((await app.inject({ method: 'GET', url: '/api/v1/clusters', headers: as })).statusCode).toBe(200);
    const unknown = await app.inject({ method: 'GET', url: '/api/v1/no-such-thing?x=1', headers: as });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'SF_API_NOT_FOUND', detail: 'no route GET /api/v1/no-such-thing' });
    const badMethod = await app.inject({ method: 'DELETE', url: '/api/v1/clusters', headers: as });
    expect(badMethod.statusCode).toBe(405);
    expect(badMethod.headers.allow).toBe('GET, HEAD');
    expect(badMethod.json()).toMatchObject({ code: 'SF_API_METHOD_NOT_ALLOWED', detail: 'DELETE is not served on /api/v1/clusters; it answers GET, HEAD' });
    // A parameterised path: the method of another route of the same path is named.
    const onJob = await app.inject({ method: 'PUT', url: '/api/v1/jobs/c1/7/cancel', headers: as });
    expect(onJob.statusCode).toBe(405);
    expect(onJob.headers.allow).toBe('POST');
    expect((await app.inject({ method: 'GET', url: '/api/v1/auth/can-i?verb=cancel&resource=jobs', headers: as })).statusCode).toBe(200);
    const records = audit.query({ limit: 50 }).items;
    expect(records.map((r) => [r.status, r.action, r.user, r.outcome])).toEqual([
      [404, 'api:read', 'alice', 'failed'],
      [405, 'api:write', 'alice', 'failed'],
      [405, 'api:write', 'alice', 'failed'],
      [200, 'auth:can-i', 'alice', 'success'],
    ]);
    expect(records[1].reason).toMatch(/DELETE is not served/);
    await app.close();
    await audit.close();
  });
});
