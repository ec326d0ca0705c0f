// The /api/v1 routes. Each declares its permission (config.permission) or that it is public;
// the server refuses to register a route that declares neither, so no endpoint forgets the gate.
// One file per resource; this one lists them in registration order (the OpenAPI document's order).
import type { FastifyInstance } from 'fastify';
import { freshnessHeaders } from '../../fleet/index.js';
import { registerAlertRoutes } from './alert-routes.js';
import { registerPagerDutyWebhookRoute } from './pagerduty-webhook-route.js';
import { registerAuthRoutes } from './auth-routes.js';
import { registerClusterObjectRoutes } from './cluster-object-routes.js';
import { registerClusterRoutes } from './cluster-routes.js';
import { JOB_TARGET, NODE_TARGET, registerCommandRoutes } from './command-routes.js';
import { registerEventRoutes } from './event-routes.js';
import { registerExportRoutes } from './export-routes.js';
import { registerFleetExportRoutes } from './fleet-export-routes.js';
import { registerImportRoutes } from './import-routes.js';
import { registerHistoryRoutes } from './history-routes.js';
import { registerMembersRoute, registerProbeRoutes } from './hub-routes.js';
import { registerJobRoutes } from './job-routes.js';
import { registerNodeRoutes } from './node-routes.js';
import { optionalAccess } from './request-access.js';
import type { RouteDeps } from './route-deps.js';
import { registerWatchRoute } from './watch-route.js';
import { registerTokenRoutes } from './token-routes.js';
import { registerBackupRoutes } from './backup-routes.js';

export type { RouteDeps } from './route-deps.js';

export function registerRoutes(app: FastifyInstance, deps: RouteDeps): void {
  // Replication staleness goes with every answer of a clustered hub, so nothing stale passes for fresh.
  if (deps.stale) {
    const stale = deps.stale;
    app.addHook('onSend', async (request, reply) => {
      if (!request.url.startsWith('/api/v1/')) return;
      const rows = optionalAccess(request)?.rows('cluster');
      const all = stale();
      // Only clusters the caller may see: a tenant learns no other tenant's cluster names here.
      void reply.headers(freshnessHeaders(rows?.unrestricted ? all : new Map([...all].filter(([name]) => rows?.allows('cluster', { name })))));
    });
  }

  registerProbeRoutes(app, deps);
  registerClusterRoutes(app, deps);
  registerMembersRoute(app, deps);
  registerJobRoutes(app, deps);
  registerCommandRoutes(app, deps, JOB_TARGET);
  registerNodeRoutes(app, deps);
  registerCommandRoutes(app, deps, NODE_TARGET);
  registerClusterObjectRoutes(app, deps);
  registerEventRoutes(app, deps);
  registerHistoryRoutes(app, deps);
  registerExportRoutes(app, deps);
  registerFleetExportRoutes(app, deps);
  registerImportRoutes(app, deps);
  registerWatchRoute(app, deps.watch, deps.watchBudget, deps.tracing);
  registerAuthRoutes(app);
  if (deps.tokens) registerTokenRoutes(app, deps.tokens);
  registerAlertRoutes(app, deps);
  registerPagerDutyWebhookRoute(app, deps);
  registerBackupRoutes(app, deps);
}
