// The HTTPS API: TLS 1.3 only, a client certificate of the fleet CA or a bearer token on
// every request (the gate sits at the root, before any route), errors as problem+json.
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { BadRequestError, FleetError, PROBLEM_CONTENT_TYPE, toProblem } from '../../../shared/errors/index.js';
import { MethodNotAllowedError, routerRefusal } from './router-errors.js';
import type { Logger } from '../../../shared/logging/index.js';
import { tlsOptionsOf, type TlsMaterial } from '../../../shared/tls/index.js';
import { Visibility, FORWARDED_FILTERS_HEADER, Rbac, TENANT_HEADER, type Authenticator, type Principal } from '../../policy/index.js';
import { registerLoginRoutes, type Logins } from '../../login/index.js';
import { registerDashboardLogin, type SsoLogin } from '../../login/webauthn/index.js';
import { registerDashboard } from '../../dashboard/index.js';
import { answerClientError, PayloadTooLargeError } from './client-error.js';
import { holdConnection } from './hold-connection.js';
import { auditRefusedRequest, registerAuditHooks, registerAuditRoutes, type AuditLog } from '../../audit/index.js';
import { buildOpenApi, type RouteInfo } from './openapi.js';
import { openApiSchema } from './response-schemas.js';
import { checkCrossSite, registerCsrfCookie } from './cross-site.js';
import { ByteBudget, httpConfigSchema, type HttpConfig } from '../../limits/index.js';
import { registerRoutes, type RouteDeps } from './routes.js';
import { registerRequestTrace, requestIdOf, requestLogIds } from './request-trace.js';

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
  /** The SSO browser logins configured (sso.oidc with a client_secret, sso.saml): the login page offers them. */
  sso?: readonly SsoLogin[];
  /** Records every mutation, denial and failed authentication before the answer goes out. */
  audit?: AuditLog;
  /** Each answered request: method, route pattern (not the URL: ids would be a series each), status, seconds. */
  observeRequest?: (method: string, route: string, statusCode: number, seconds: number) => void;
  /** The `http:` section: body and query bounds, allowed origins, trusted proxies, timeouts. */
  http?: HttpConfig;
  /** Per-tenant API rate limits (watch opens included): rejects (429) when the request's tenant has no token left. */
  admitTenant?: (tenant: string) => void | Promise<void>;
}

export async function buildHttpApi(deps: HttpApiDeps, tls?: TlsMaterial): Promise<{ app: FastifyInstance; routes: RouteInfo[] }> {
  const http = deps.http ?? httpConfigSchema.parse({});
  const allowedOrigins = new Set(http.allowed_origins.map((o) => o.toLowerCase()));
  const app = Fastify({
    // Per-request lines would drown the hub's log; errors are logged by the error handler.
    loggerInstance: deps.logger.child({ component: 'http' }, { level: 'warn' }),
    // Watch streams never end on their own; close them with the server.
    forceCloseConnections: true,
    // Bounded before trusted: no route reads more (SAML's form post sets its own).
    bodyLimit: http.max_body,
    // Only a listed proxy's X-Forwarded-For is believed (request.ip: login limits, audit source).
    ...(http.trusted_proxies.length > 0 ? { trustProxy: http.trusted_proxies } : {}),
    keepAliveTimeout: http.keep_alive_idle,
    requestTimeout: http.body_timeout,
    // Oversize headers (over Node's 16 KiB) and unparsable requests: a problem+json answer, not a hang-up.
    // Oversize headers (over Node's 16 KiB) and unparsable requests: logged and audited, then a problem+json answer, not a hang-up.
    clientErrorHandler: (err: NodeJS.ErrnoException, socket: Duplex) =>
      answerClientError(err, socket, async (r, detail) => {
        deps.logger.warn(r, 'HTTP request refused before routing');
        await (deps.audit ? auditRefusedRequest(deps.audit)(r, detail) : undefined);
      }),
    // The caller's x-request-id when sane (request-trace.ts); audit records, logs and the answer header carry it.
    genReqId: requestIdOf,
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
            ...tlsOptionsOf(tls),
            // Slow clients (headers 10 s, whole request 30 s, TLS handshake as headers), checked each second.
            handshakeTimeout: http.header_timeout,
            headersTimeout: http.header_timeout,
            requestTimeout: http.body_timeout,
            keepAliveTimeout: http.keep_alive_idle,
            connectionsCheckingInterval: 1_000,
          },
        }
      : {}),
  }) as unknown as FastifyInstance;

  // First of the onRequest hooks: a request the gate refuses is traced and carries its id too.
  registerRequestTrace(app, deps.tracing);
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
  app.decorateRequest('recheck', null);
  const rbac = deps.rbac ?? new Rbac(undefined);
  if (deps.audit) registerAuditHooks(app, deps.audit);
  const observe = deps.observeRequest;
  if (observe) {
    app.addHook('onResponse', async (request, reply) => {
      observe(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    });
  }
  registerCsrfCookie(app);
  // Bodies of callers not yet authorized, read at once in all (byte-budget.ts).
  const unauthorized = new ByteBudget(http.unauthorized_in_flight);
  app.decorateRequest('releaseBudget', null);
  const release = (request: FastifyRequest): void => (request as FastifyRequest & { releaseBudget: (() => void) | null }).releaseBudget?.();
  app.addHook('onResponse', async (request) => release(request));
  app.addHook('onRequest', async (request) => {
    const q = request.url.indexOf('?');
    if (q >= 0 && request.url.length - q - 1 > http.max_query) throw new BadRequestError(`query string too long: at most ${http.max_query} bytes (http.max_query)`);
    const config = request.routeOptions.config as { public?: boolean } | undefined;
    if (config?.public) {
      // Credentials on a public route may show more (/readyz checks); bad or none answer as anonymous.
      if (!request.headers.authorization && !(request.raw.socket as TLSSocket).authorized) return reserveBody(request, unauthorized, http.max_body);
      try {
        const p = await deps.authenticator.authenticate({ socket: request.raw.socket as TLSSocket, authorization: request.headers.authorization, remoteAddress: request.ip });
        const tenant = request.headers[TENANT_HEADER];
        (request as FastifyRequest & { access: Visibility }).access = new Visibility(rbac, p, undefined, typeof tenant === 'string' ? tenant : undefined);
      } catch {
        // anonymous
      }
      if (!(request as FastifyRequest & { access: Visibility | null }).access) reserveBody(request, unauthorized, http.max_body);
      return;
    }
    const input = {
      socket: request.raw.socket as TLSSocket,
      authorization: request.headers.authorization ?? deps.cookieBearer?.(request.headers.cookie),
      remoteAddress: request.ip,
    };
    const principal: Principal = await deps.authenticator.authenticate(input);
    (request as FastifyRequest & { principal: Principal }).principal = principal;
    // After authentication, so the refusal's audit record names who was led to make it.
    checkCrossSite(request, allowedOrigins);
    // RBAC: the route's permission, then row filters for what the handler reads (hub/policy/rbac).
    const tenant = request.headers[TENANT_HEADER];
    const access = new Visibility(rbac, principal, request.headers[FORWARDED_FILTERS_HEADER] as string | undefined, typeof tenant === 'string' ? tenant : undefined);
    // No permission only on the not-found handler, which reads nothing.
    const permission = (config as { permission?: string } | undefined)?.permission;
    if (permission) access.authorize(permission);
    if (access.tenant?.name) await deps.admitTenant?.(access.tenant.name);
    (request as FastifyRequest & { access: Visibility }).access = access;
    // Long-lived answers (watch streams) run the gate again: revocation, logout, expiry, lost roles.
    // It answers the request's visibility as it is now (an rbac reload may have changed it).
    (request as FastifyRequest & { recheck: () => Promise<Visibility> }).recheck = async () => {
      const again = new Visibility(rbac, await deps.authenticator.authenticate(input), request.headers[FORWARDED_FILTERS_HEADER] as string | undefined, typeof tenant === 'string' ? tenant : undefined);
      if (permission) again.authorize(permission);
      return again;
    };
  });

  app.setErrorHandler((error: Error & { validation?: unknown; statusCode?: number }, request, reply) => {
    let err: unknown = error;
    if (error.validation) err = new BadRequestError(error.message, validationField(error.validation));
    else if ((error as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE') err = new PayloadTooLargeError(request.routeOptions.bodyLimit);
    else if (!(error instanceof FleetError) && error.statusCode && error.statusCode < 500) err = new BadRequestError(error.message);
    const problem = toProblem(err, request.url.split('?')[0]);
    if (problem.status >= 500) deps.logger.error({ err: error.message, url: request.url.split('?')[0], ...requestLogIds(request) }, 'request failed');
    // A refused request whose body was not read (the gate runs before the body): close the
    // connection after the answer instead of reading and dropping what the caller still sends.
    if (!request.raw.complete) void reply.header('connection', 'close');
    if (problem.status === 429 && typeof problem.retry_after === 'number') void reply.header('retry-after', String(problem.retry_after));
    void reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(problem);
    // Over its tenant's rate limit: its connection is not read again before its Retry-After
    // (hold-connection.ts). Not a connection of a trusted proxy (http.trusted_proxies): a proxy
    // pools its upstream connections for every tenant, and holding one would stall the others.
    const viaProxy = request.ip !== request.raw.socket?.remoteAddress;
    if (problem.code === 'SF_TENANT_RATE_LIMITED' && request.raw.complete && !viaProxy && typeof problem.retry_after === 'number') holdConnection(reply.raw, problem.retry_after * 1000);
  });

  // Thrown, so the error handler answers it like every other error (and the audit hook records it).
  const refusal = routerRefusal(routes);
  app.setNotFoundHandler((request, reply) => {
    const err = refusal(request.method, request.url.split('?')[0]);
    if (err instanceof MethodNotAllowedError) void reply.header('allow', err.allow.join(', '));
    throw err;
  });

  registerRoutes(app, deps);
  for (const register of deps.extraRoutes ?? []) register(app);
  if (deps.logins) registerLoginRoutes(app, deps.logins.login, deps.logins.sessions, (request) => checkCrossSite(request, allowedOrigins));
  if (deps.logins) registerDashboardLogin(app, deps.logins.login, deps.logins.webauthn, deps.sso);
  if (deps.logins) registerDashboard(app);
  if (deps.audit) registerAuditRoutes(app, deps.audit);
  app.get('/api/v1/openapi.json', { config: { permission: 'openapi:read' }, schema: { summary: 'This document', response: { 200: openApiSchema } } }, async () => buildOpenApi(routes));
  await app.ready();
  return { app, routes };
}

/**
 * An anonymous request with a body reserves its declared length (at most the route's limit; the
 * limit itself when it declares none) before the body is read; released with the answer or when
 * the request ends otherwise.
 */
function reserveBody(request: FastifyRequest, budget: ByteBudget, defaultLimit: number): void {
  const limit = request.routeOptions.bodyLimit ?? defaultLimit;
  const length = Number(request.headers['content-length'] ?? 0);
  const bytes = request.headers['transfer-encoding'] ? limit : Math.min(Number.isFinite(length) ? length : limit, limit);
  if (bytes <= 0) return;
  const release = budget.take(bytes);
  (request as FastifyRequest & { releaseBudget: () => void }).releaseBudget = release;
  request.raw.once('close', release);
}

/** The body or query field a schema refusal is about ({ field } for the problem, so a form can show it beside its input). */
function validationField(validation: unknown): { field: string } | undefined {
  const first = (Array.isArray(validation) ? validation[0] : undefined) as { instancePath?: string; params?: { missingProperty?: string; additionalProperty?: string } } | undefined;
  const name = first?.params?.missingProperty ?? first?.params?.additionalProperty ?? first?.instancePath?.split('/')[1];
  return name ? { field: name } : undefined;
}
