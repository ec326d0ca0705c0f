// The HTTPS API: TLS 1.3 only, a client certificate of the fleet CA or a bearer token on
// every request (the gate sits at the root, before any route), errors as problem+json.
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { BadRequestError, FleetError, NotFoundError, PROBLEM_CONTENT_TYPE, toProblem } from '../../../shared/errors/index.js';
import type { Logger } from '../../../shared/logging/index.js';
import { MIN_TLS_VERSION, type TlsMaterial } from '../../../shared/tls/index.js';
import { Visibility, FORWARDED_FILTERS_HEADER, Rbac, type Authenticator, type Principal } from '../../policy/index.js';
import { registerLoginRoutes, type Logins } from '../../login/index.js';
import { registerDashboardLogin } from '../../login/webauthn/index.js';
import { registerDashboard } from '../../dashboard/index.js';
import { answerClientError } from './client-error.js';
import { randomUUID } from 'node:crypto';
import { auditRefusedRequest, registerAuditHooks, registerAuditRoutes, type AuditLog } from '../../audit/index.js';
import { buildOpenApi, type RouteInfo } from './openapi.js';
import { registerRoutes, type RouteDeps } from './routes.js';

declare module 'fastify' {
  interface FastifySchema {
    summary?: string;
  }
  interface FastifyContextConfig {
    /** "resource:verb" the caller needs; the RBAC seam. */
    permission?: string;
    /** Reachable without credentials (health probes only). */
    public?: boolean;
  }
}

export interface HttpApiDeps extends RouteDeps {
  logger: Logger;
  authenticator: Authenticator;
  /** More routes from other folders (the SSO login endpoints); each declares public or a permission. */
  extraRoutes?: ((app: FastifyInstance) => void)[];
  /** Reads a browser session cookie as a bearer credential when no Authorization header is sent. */
  cookieBearer?: (cookieHeader: string | undefined) => string | undefined;
  /** The RBAC policy (config `rbac`); absent: the default, every authenticated caller is an admin. */
  rbac?: Rbac;
  /** Logins (POST /api/v1/auth/login, logout); absent: only certificates and API tokens. */
  logins?: Logins;
  /** Records every mutation, denial and failed authentication before the answer goes out. */
  audit?: AuditLog;
}

export async function buildHttpApi(deps: HttpApiDeps, tls?: TlsMaterial): Promise<{ app: FastifyInstance; routes: RouteInfo[] }> {
  const app = Fastify({
    // Per-request lines would drown the hub's log; errors are logged by the error handler.
    loggerInstance: deps.logger.child({ component: 'http' }, { level: 'warn' }),
    // Watch streams never end on their own; close them with the server.
    forceCloseConnections: true,
    bodyLimit: 1024 * 1024,
    // Oversize headers (over Node's 16 KiB) and unparsable requests: a problem+json answer, not a hang-up.
    // Oversize headers (over Node's 16 KiB) and unparsable requests: logged and audited, then a problem+json answer, not a hang-up.
    clientErrorHandler: (err: NodeJS.ErrnoException, socket: Duplex) =>
      answerClientError(err, socket, async (r, detail) => {
        deps.logger.warn(r, 'HTTP request refused before routing');
        await (deps.audit ? auditRefusedRequest(deps.audit)(r, detail) : undefined);
      }),
    // Audit records and the x-request-id answer header carry it.
    genReqId: () => randomUUID(),
    routerOptions: { maxParamLength: 256 },
    // An unknown query parameter is a typo to report, not something to drop silently.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, allErrors: false } },
    ...(tls
      ? {
          https: {
            ca: tls.ca,
            cert: tls.cert,
            key: tls.key,
            requestCert: true,
            // Token callers have no certificate; the gate checks socket.authorized itself.
            rejectUnauthorized: false,
            minVersion: MIN_TLS_VERSION,
          },
        }
      : {}),
  }) as unknown as FastifyInstance;

  const routes: RouteInfo[] = [];
  app.addHook('onRoute', (route) => {
    const config = (route.config ?? {}) as { permission?: string; public?: boolean };
    if (route.method === 'HEAD') return;
    if (!config.permission && !config.public) {
      throw new Error(`route ${String(route.method)} ${route.url} declares no permission: every route must pass the policy gate`);
    }
    routes.push({ method: String(route.method), url: route.url, permission: config.permission, public: !!config.public, schema: route.schema as RouteInfo['schema'] });
  });

  app.decorateRequest('principal', null);
  app.decorateRequest('access', null);
  const rbac = deps.rbac ?? new Rbac(undefined);
  if (deps.audit) registerAuditHooks(app, deps.audit);
  app.addHook('onRequest', async (request) => {
    const config = request.routeOptions.config as { public?: boolean } | undefined;
    if (config?.public) return;
    const principal: Principal = await deps.authenticator.authenticate({
      socket: request.raw.socket as TLSSocket,
      authorization: request.headers.authorization ?? deps.cookieBearer?.(request.headers.cookie),
      remoteAddress: request.ip,
    });
    (request as FastifyRequest & { principal: Principal }).principal = principal;
    // RBAC: the route's permission, then row filters for what the handler reads (hub/policy/rbac).
    const access = new Visibility(rbac, principal, request.headers[FORWARDED_FILTERS_HEADER] as string | undefined);
    // No permission only on the not-found handler, which reads nothing.
    const permission = (config as { permission?: string } | undefined)?.permission;
    if (permission) access.authorize(permission);
    (request as FastifyRequest & { access: Visibility }).access = access;
  });

  app.setErrorHandler((error: Error & { validation?: unknown; statusCode?: number }, request, reply) => {
    let err: unknown = error;
    if (error.validation) err = new BadRequestError(error.message);
    else if (!(error instanceof FleetError) && error.statusCode && error.statusCode < 500) err = new BadRequestError(error.message);
    const problem = toProblem(err, request.url.split('?')[0]);
    if (problem.status >= 500) deps.logger.error({ err: error.message, url: request.url.split('?')[0] }, 'request failed');
    void reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(problem);
  });

  app.setNotFoundHandler((request) => {
    // Thrown, so the error handler answers it like every other error.
    throw new NotFoundError(`no route ${request.method} ${request.url.split('?')[0]}`);
  });

  registerRoutes(app, deps);
  for (const register of deps.extraRoutes ?? []) register(app);
  if (deps.logins) registerLoginRoutes(app, deps.logins.login, deps.logins.sessions);
  if (deps.logins) registerDashboardLogin(app, deps.logins.login, deps.logins.webauthn);
  if (deps.logins) registerDashboard(app);
  if (deps.audit) registerAuditRoutes(app, deps.audit);
  app.get('/api/v1/openapi.json', { config: { permission: 'openapi:read' }, schema: { summary: 'This document' } }, async () => buildOpenApi(routes));
  await app.ready();
  return { app, routes };
}
