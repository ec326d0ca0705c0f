// The hub API as the dashboard calls it: the client generated from the hub's OpenAPI document
// (generated/hub-api.ts), with the session cookie, the CSRF header every mutation carries, and
// the one place that sends an expired session back to the login page (and then back here).
import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from '../generated/hub-api';

export const CSRF_COOKIE = 'sfleet_csrf';

export function csrfToken(): string | undefined {
  for (const part of document.cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === CSRF_COOKIE) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

/** To the login page, which comes back to this very URL once the user has logged in again. */
export function toLogin(): void {
  const here = location.pathname + location.search;
  location.assign(`/login?next=${encodeURIComponent(here)}`);
}

const session: Middleware = {
  onRequest({ request }) {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      const token = csrfToken();
      if (token) request.headers.set('X-CSRF-Token', token);
    }
    return request;
  },
  onResponse({ response }) {
    if (response.status === 401) toLogin();
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: '', credentials: 'same-origin' });
api.use(session);

export type Job = paths['/api/v1/jobs']['get']['responses']['200']['content']['application/json']['items'][number];
export type JobPage = paths['/api/v1/jobs']['get']['responses']['200']['content']['application/json'];
export type JobQuery = NonNullable<paths['/api/v1/jobs']['get']['parameters']['query']>;
export type Node = paths['/api/v1/nodes']['get']['responses']['200']['content']['application/json']['items'][number];
export type ClusterStatus = paths['/api/v1/clusters']['get']['responses']['200']['content']['application/json']['items'][number];
export type Aggregate = paths['/api/v1/aggregates']['get']['responses']['200']['content']['application/json']['items'][number];
export type Alert = paths['/api/v1/alerts']['get']['responses']['200']['content']['application/json']['items'][number];
export type AlertQuery = NonNullable<paths['/api/v1/alerts']['get']['parameters']['query']>;
export type Silence = paths['/api/v1/silences']['get']['responses']['200']['content']['application/json']['items'][number];
export type QuotaHistory = paths['/api/v1/quotas/history']['get']['responses']['200']['content']['application/json'];
export type TenantQuotas = paths['/api/v1/quotas']['get']['responses']['200']['content']['application/json']['items'][number];
export type AuditPage = paths['/api/v1/audit']['get']['responses']['200']['content']['application/json'];
export type AuditQuery = NonNullable<paths['/api/v1/audit']['get']['parameters']['query']>;
/** An error answer (RFC 9457), with the extensions some codes carry (`field`, SF_QUOTA_EXCEEDED's `quota`). */
export type Problem = components['schemas']['Problem'];
export type SubmitBody = NonNullable<paths['/api/v1/jobs/{cluster}']['post']['requestBody']>['content']['application/json'];
export type HistoryRun = paths['/api/v1/history/jobs']['get']['responses']['200']['content']['application/json']['items'][number];
export type Whoami = paths['/api/v1/auth/whoami']['get']['responses']['200']['content']['application/json'];

/** A problem+json answer's words for a person: the gate's reason on a refusal. */
export function problemText(error: unknown, status?: number): string {
  const p = error as { detail?: string; title?: string } | undefined;
  return p?.detail ?? p?.title ?? (status ? `the hub answered ${status}` : 'the hub did not answer');
}

type Command = 'cancel' | 'hold' | 'release' | 'requeue' | 'drain' | 'resume';

/** Runs a job or node command; the answer's message, or throws the hub's reason. */
export async function runCommand(kind: 'job' | 'node', cluster: string, target: string, command: Command, reason?: string): Promise<string> {
  const body = reason ? { reason } : {};
  const res =
    kind === 'job'
      ? await api.POST(`/api/v1/jobs/{cluster}/{id}/${command as 'cancel'}`, { params: { path: { cluster, id: target } }, body })
      : await api.POST(`/api/v1/nodes/{cluster}/{name}/${command as 'drain'}`, { params: { path: { cluster, name: target } }, body });
  if (res.error !== undefined || !res.data) throw new Error(problemText(res.error, res.response.status));
  if (!res.data.ok) throw new Error(res.data.message || `${command} failed`);
  return res.data.message;
}

/** The gate's answer to "may I VERB RESOURCE?" (the dashboard hides what it would refuse). */
export async function mayI(verb: string, resource: string): Promise<boolean> {
  const r = await api.GET('/api/v1/auth/can-i', { params: { query: { verb, resource } } });
  return r.data?.allowed === true;
}
