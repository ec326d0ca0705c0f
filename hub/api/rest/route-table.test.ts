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

async function build() {
  const state = new FleetState();
  return buildHttpApi({
    logger: silentLogger(),
    authenticator: new Authenticator(new TokenStore(mkdtempSync(join(tmpdir(), 't-')))),
    state,
    commands: new CommandRouter({ timeoutMs: 1000 }),
    watch: new WatchFeed(state),
    readiness: () => ({ ready: true, checks: {} }),
    metrics: async () => ({ contentType: 'text/plain', body: '' }),
  });
}

describe('route table', () => {
  it('every route passes the gate: only health probes are public, everything else names a permission and answers 401 without credentials', async () => {
    const { app, routes } = await build();
    expect(routes.length).toBeGreaterThan(15);
    for (const route of routes) {
      if (route.public) {
        expect(['/healthz', '/readyz']).toContain(route.url);
        continue;
      }
      expect(route.permission).toMatch(/^[a-z]+:[a-z]+$/);
      const res = await app.inject({ method: route.method as 'GET', url: route.url.replace(/:cluster/, 'c').replace(/:id/, '1').replace(/:name/, 'n') });
      expect(res.statusCode, `${route.method} ${route.url}`).toBe(401);
    }
    await app.close();
  });

  it('refuses to register a route that declares no permission', async () => {
    const { app } = await build();
    await expect(async () => app.get('/api/v1/forgotten', async () => ({}))).rejects.toThrow(/declares no permission/);
    await app.close();
  });
});
