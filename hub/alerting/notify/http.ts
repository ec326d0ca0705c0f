// One HTTP request for the HTTP channels, its answer classified the same way for all of them:
// 2xx delivered; 408, 429 (with Retry-After) and 5xx retry; other 4xx rejected; no answer retry.
// Reasons never carry the URL (it may hold a token, as Slack's does) or the body sent.
import type { SendResult } from './notifier.js';

export type HttpAnswer = SendResult & { body?: string; status?: number };

export async function postJson(url: string, body: string, headers: Record<string, string>, signal: AbortSignal): Promise<HttpAnswer> {
  return request('POST', url, body, { 'content-type': 'application/json', ...headers }, signal);
}

/** Any method; `body` undefined sends none. The answer's text (2 KiB at most) comes back on every outcome. */
export async function request(method: string, url: string, body: string | undefined, headers: Record<string, string>, signal: AbortSignal): Promise<HttpAnswer> {
  let res: Response;
  try {
    res = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}), signal, redirect: 'error' });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const why = signal.aborted ? 'timed out' : (e.cause?.code ?? e.name);
    return { outcome: 'retry', reason: `no answer: ${why}` };
  }
  const text = (await res.text().catch(() => '')).slice(0, 2048);
  if (res.ok) return { outcome: 'delivered', detail: `HTTP ${res.status}`, body: text, status: res.status };
  const brief = `HTTP ${res.status}${text ? `: ${text.replace(/\s+/g, ' ').slice(0, 200)}` : ''}`;
  if (res.status === 429 || res.status === 408 || res.status >= 500) {
    const retryAfterMs = retryAfter(res.headers.get('retry-after'));
    return { outcome: 'retry', reason: brief, status: res.status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }
  return { outcome: 'rejected', reason: brief, status: res.status };
}

/** The JSON of a delivered answer, or undefined when it is not JSON. */
export function jsonOf(answer: HttpAnswer): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(answer.body ?? '') as unknown;
    return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Retry-After as seconds or an HTTP date. */
export function retryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const t = Date.parse(value);
  return Number.isFinite(t) ? Math.max(0, t - now) : undefined;
}

/** Basic (user and password) or Bearer (a token), as the channel's credentials say. */
export function authorization(creds: { username?: string | undefined; password?: string | undefined; token?: string | undefined }): string {
  return creds.token ? `Bearer ${creds.token}` : `Basic ${Buffer.from(`${creds.username ?? ''}:${creds.password ?? ''}`).toString('base64')}`;
}
