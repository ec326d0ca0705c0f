// One HTTP POST for the HTTP channels, its answer classified the same way for all of them:
// 2xx delivered; 408, 429 (with Retry-After) and 5xx retry; other 4xx rejected; no answer retry.
// Reasons never carry the URL (it may hold a token, as Slack's does) or the body sent.
import type { SendResult } from './notifier.js';

export async function postJson(url: string, body: string, headers: Record<string, string>, signal: AbortSignal): Promise<SendResult & { body?: string }> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, signal, redirect: 'error' });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const why = signal.aborted ? 'timed out' : (e.cause?.code ?? e.name);
    return { outcome: 'retry', reason: `no answer: ${why}` };
  }
  const text = (await res.text().catch(() => '')).slice(0, 2048);
  if (res.ok) return { outcome: 'delivered', detail: `HTTP ${res.status}`, body: text };
  const brief = `HTTP ${res.status}${text ? `: ${text.replace(/\s+/g, ' ').slice(0, 200)}` : ''}`;
  if (res.status === 429 || res.status === 408 || res.status >= 500) {
    const retryAfterMs = retryAfter(res.headers.get('retry-after'));
    return { outcome: 'retry', reason: brief, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }
  return { outcome: 'rejected', reason: brief };
}

/** Retry-After as seconds or an HTTP date. */
export function retryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const t = Date.parse(value);
  return Number.isFinite(t) ? Math.max(0, t - now) : undefined;
}
