// The hub's REST API (every route of the table, in-process) with fuzzed path parameters, query
// strings, bodies and content types, as an admin so each request gets past the gate to its
// handler's parsing. The answer is a clear problem (4xx; 503 where a command needs an agent that
// is not here) or the normal answer: never a 500, never a non-problem error body, and
// Object.prototype stays clean.
import { inProcessApi } from '../../../test/harness/in-process-api.js';
import { splitInput } from '../invariant.js';

const { app, routes: all, token } = await inProcessApi(5);
// The SSE watch streams until the client leaves: it is fuzzed through its query only when that
// query is refused, which inject cannot tell in advance, so it is left to its own tests.
const routes = all.filter((r) => r.url !== '/api/v1/watch');
const CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'application/merge-patch+json', ''];

export async function fuzz(data: Buffer): Promise<void> {
  if (data.length < 2) return;
  const route = routes[data[0] % routes.length];
  const [param, query, body] = splitInput(data.subarray(2), 3).map((b) => b.toString('latin1'));
  const url = `${route.url.replace(/:[a-z_]+/g, encodeURIComponent(param) || 'x')}${query ? `?${query.replace(/[#\s]/g, '')}` : ''}`;
  const mutating = !['GET', 'HEAD'].includes(route.method);
  const contentType = CONTENT_TYPES[data[1] % CONTENT_TYPES.length];
  const res = await app.inject({
    method: route.method as 'GET',
    url,
    headers: { authorization: `Bearer ${token}`, ...(mutating && contentType ? { 'content-type': contentType } : {}) },
    ...(mutating ? { payload: body } : {}),
  });
  if (res.statusCode >= 500 && res.statusCode !== 503) throw new Error(`${route.method} ${url}: HTTP ${res.statusCode}: ${res.body.slice(0, 300)}`);
  if (res.statusCode >= 400 && route.method !== 'HEAD') {
    const problem = JSON.parse(res.body) as { code?: unknown; detail?: unknown };
    if (typeof problem.code !== 'string' || !problem.code.startsWith('SF_') || typeof problem.detail !== 'string') throw new Error(`${route.method} ${url}: HTTP ${res.statusCode} without a problem body: ${res.body.slice(0, 300)}`);
  }
  if (Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted') || ({} as Record<string, unknown>).polluted !== undefined) throw new Error(`${route.method} ${url}: Object.prototype polluted`);
}
