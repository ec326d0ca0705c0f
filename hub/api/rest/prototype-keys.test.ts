// Prototype keys (`__proto__`, `constructor`, `prototype`) never reach an object lookup: every
// route of the table, called by an admin with them as path parameters, query keys and values, and
// body keys, answers a clear problem (4xx, or 503 where the command needs an agent that is not
// here) or its normal answer; never a 500, and Object.prototype stays clean.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../shared/clock/index.js';
import { silentLogger } from '../../../shared/logging/index.js';
import { CommandRouter } from '../../commands/index.js';
import { FleetState } from '../../fleet/index.js';
import { Authenticator, FileTokenRegistry, TokenStore } from '../../policy/index.js';
import { Admission, registerSubmitRoute, submitConfigSchema, SubmitService } from '../../submit/index.js';
import { WatchFeed } from '../../watch/index.js';
import { buildHttpApi } from './server.js';

const KEYS = ['__proto__', 'constructor', 'prototype'];

describe('prototype keys on every route', () => {
  it('path parameters, query and body keys named __proto__ / constructor / prototype: a clear answer, never 500, no pollution', async () => {
    const tokens = new TokenStore(mkdtempSync(join(tmpdir(), 't-')));
    const state = new FleetState();
    const commands = new CommandRouter({ timeoutMs: 200 });
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
    // No rbac section: the token's holder is an admin, so every route gets past the gate to its handler.
    const { token } = tokens.create('root');
    const answers: string[] = [];
    let calls = 0;
    for (const route of routes) {
      // The SSE watch streams until the client leaves: called with a bad query only (refused before it starts).
      const streaming = route.url === '/api/v1/watch';
      for (const key of KEYS) {
        const url = route.url.replace(/:[a-z_]+/g, key);
        const hasParams = url !== route.url;
        const mutating = !['GET', 'HEAD'].includes(route.method);
        const body = `{"${key}":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"name":"${key}","cluster":"${key}"}`;
        // One part at a time, so a refusal of one does not hide the handling of the others.
        const variants: { what: string; url: string; payload?: string }[] = [{ what: 'query', url: `${route.url.replace(/:[a-z_]+/g, 'x')}?${key}=1&${key}[polluted]=1&cluster=${key}&kinds=${key}` }];
        if (hasParams && !streaming) variants.push({ what: 'path', url });
        if (mutating) variants.push({ what: 'body', url: route.url.replace(/:[a-z_]+/g, 'x'), payload: body });
        for (const v of variants) {
          const res = await app.inject({
            method: route.method as 'GET',
            url: v.url,
            headers: { authorization: `Bearer ${token}`, ...(mutating ? { 'content-type': 'application/json' } : {}) },
            ...(mutating ? { payload: v.payload ?? '{}' } : {}),
          });
          calls++;
          answers.push(`${res.statusCode} ${v.what} ${route.method} ${v.url}`);
          expect(res.statusCode, `${route.method} ${v.url} (${v.what}): ${res.body.slice(0, 300)}`).not.toBe(500);
          if (res.statusCode >= 400) expect(JSON.parse(res.body), `${route.method} ${v.url}`).toMatchObject({ code: expect.stringMatching(/^SF_/), detail: expect.any(String) });
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
          expect(Object.prototype).not.toHaveProperty('polluted');
        }
      }
    }
    if (process.env.SHOW_ANSWERS) console.log(answers.join('\n'));
    expect(calls).toBeGreaterThanOrEqual(routes.length * KEYS.length);
    // Path and body variants reach their handlers: not everything is the query's 400.
    expect(answers.filter((a) => / (path|body) /.test(a) && !a.startsWith('400')).length).toBeGreaterThan(10);
    expect(answers.some((a) => a.startsWith('400'))).toBe(true);
    await app.close();
  }, 60_000);
});
