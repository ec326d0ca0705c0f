// The hub's whole REST API in-process (fastify inject, no socket), with every route of the table
// and an admin token: for tests and fuzzers that walk the route table with odd input.
// No rbac section: the token's holder is an admin, so every route gets past the gate to its handler.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ManualClock } from '../../shared/clock/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { CommandRouter } from '../../hub/commands/index.js';
import { FleetState } from '../../hub/fleet/index.js';
import { Authenticator, FileTokenRegistry, TokenStore } from '../../hub/policy/index.js';
import { Admission, registerSubmitRoute, submitConfigSchema, SubmitService } from '../../hub/submit/index.js';
import { WatchFeed } from '../../hub/watch/index.js';
import { buildHttpApi } from '../../hub/api/rest/server.js';

export interface InProcessApi {
  app: FastifyInstance;
  routes: { method: string; url: string }[];
  /** An admin's bearer token. */
  token: string;
}

/** `commandTimeoutMs`: how long a command route waits for an agent (there is none). */
export async function inProcessApi(commandTimeoutMs = 200): Promise<InProcessApi> {
  const tokens = new TokenStore(mkdtempSync(join(tmpdir(), 't-')));
  const state = new FleetState();
  const commands = new CommandRouter({ timeoutMs: commandTimeoutMs });
  const submit = new SubmitService({ commands, admission: new Admission({ state, clock: new ManualClock(0) }, { ttlMs: 1000 }) }, submitConfigSchema.parse(undefined));
  const { app, routes } = await buildHttpApi({
    logger: silentLogger(),
    extraRoutes: [(a) => registerSubmitRoute(a, submit)],
    authenticator: new Authenticator(tokens),
    state,
    commands,
    watch: new WatchFeed(state),
    readiness: () => ({ ready: true, checks: {} }),
    metrics: async () => ({ contentType: 'text/plain', body: '' }),
    tokens: new FileTokenRegistry(tokens),
  });
  return { app, routes, token: tokens.create('root').token };
}
