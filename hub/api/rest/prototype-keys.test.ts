// Prototype keys (`__proto__`, `constructor`, `prototype`) never reach an object lookup: every
// route of the table, called by an admin with them as path parameters, query keys and values, and
// body keys, answers a clear problem (4xx, or 503 where the command needs an agent that is not
// here) or its normal answer; never a 500, and Object.prototype stays clean.
import { describe, expect, it } from 'vitest';
import { inProcessApi } from '../../../test/harness/in-process-api.js';

const KEYS = ['__proto__', 'constructor', 'prototype'];

describe('prototype keys on every route', () => {
  it('path parameters, query and body keys named __proto__ / constructor / prototype: a clear answer, never 500, no pollution', async () => {
    // Every route of the table, called by an admin (no rbac section): each gets past the gate to its handler.
    const { app, routes, token } = await inProcessApi();
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
