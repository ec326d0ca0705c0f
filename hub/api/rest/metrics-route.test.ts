// observability.metrics.prometheus: `enabled: false` leaves no metrics route; `endpoint` moves it
// (still behind the gate: metrics:read).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../shared/logging/index.js';
import { CommandRouter } from '../../commands/index.js';
import { FleetState } from '../../fleet/index.js';
import { Authenticator, TokenStore } from '../../policy/index.js';
import { WatchFeed } from '../../watch/index.js';
import { buildHttpApi } from './server.js';

async function build(metrics: { on: boolean; path?: string }) {
  const state = new FleetState();
  const observed: string[] = [];
  const built = await buildHttpApi({
    logger: silentLogger(),
    authenticator: new Authenticator(new TokenStore(mkdtempSync(join(tmpdir(), 't-')))),
    state,
    commands: new CommandRouter({ timeoutMs: 1000 }),
    watch: new WatchFeed(state),
    readiness: () => ({ ready: true, checks: {} }),
    ...(metrics.on ? { metrics: async () => ({ contentType: 'text/plain; version=0.0.4', body: 'x 1\n' }), ...(metrics.path ? { metricsPath: metrics.path } : {}) } : {}),
    observeRequest: (method, route, status) => observed.push(`${method} ${route} ${status}`),
  });
  return { ...built, observed };
}

describe('the metrics route', () => {
  it('enabled: false serves no metrics route at all', async () => {
    const { routes } = await build({ on: false });
    expect(routes.map((r) => r.url)).not.toContain('/metrics');
  });

  it('endpoint moves it, with the same permission; requests are timed by route pattern', async () => {
    const { app, routes, observed } = await build({ on: true, path: '/prom/metrics' });
    expect(routes.find((r) => r.url === '/prom/metrics')?.permission).toBe('metrics:read');
    expect(routes.map((r) => r.url)).not.toContain('/metrics');
    expect((await app.inject({ method: 'GET', url: '/prom/metrics' })).statusCode).toBe(401);
    await app.inject({ method: 'GET', url: '/api/v1/jobs/123' });
    expect(observed).toContain('GET /prom/metrics 401');
    // the pattern, not the URL: a job id is not a series
    expect(observed.some((o) => o.includes('/123'))).toBe(false);
  });
});
