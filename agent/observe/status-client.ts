// `sfleet agent status`: asks the agent on this host (its observe listener, from the same config
// file) what it is doing, and says it in a few lines. Exit code: 0 ok, 1 degraded, 2 no answer.
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AgentConfig } from '../config/index.js';
import { isLoopback } from './config.js';

export interface StatusAnswer {
  exitCode: 0 | 1 | 2;
  text: string;
  json?: Record<string, unknown>;
}

export async function agentStatus(config: AgentConfig, opts: { timeoutMs?: number } = {}): Promise<StatusAnswer> {
  const o = config.observe;
  if (!o.listen) return { exitCode: 2, text: `the agent of ${config.cluster} has no observe listener: set observe.listen (e.g. 127.0.0.1:9464) in its config\n` };
  const i = o.listen.lastIndexOf(':');
  let host = o.listen.slice(0, i).replace(/^\[|\]$/g, '');
  if (host === '0.0.0.0') host = '127.0.0.1';
  if (host === '::') host = '::1';
  const headers: Record<string, string> = o.bearer_file ? { authorization: `Bearer ${readFileSync(o.bearer_file, 'utf8').trim()}` } : {};
  // The agent's own certificate as the client certificate. The listener's certificate is checked
  // against the fleet CA, except on loopback (this host's own process, maybe a self-signed cert).
  const local = isLoopback(`${host.includes(':') ? `[${host}]` : host}:0`);
  const tls = o.tls ? { ca: readFileSync(config.tls.ca), cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key), rejectUnauthorized: !local } : undefined;
  try {
    const { status, body } = await get({ host, port: Number(o.listen.slice(i + 1)), path: '/healthz', headers, timeoutMs: opts.timeoutMs ?? 5_000, tls });
    if (status === 401) return { exitCode: 2, text: `the agent's listener refused this caller (401): check observe.bearer_file\n` };
    const json = JSON.parse(body) as Record<string, unknown>;
    return { exitCode: json.status === 'ok' ? 0 : 1, text: describe(json), json };
  } catch (err) {
    return { exitCode: 2, text: `no answer from the agent at ${o.listen}: ${(err as Error).message}\n` };
  }
}

function describe(s: Record<string, unknown>): string {
  const spool = (s.spool ?? {}) as Record<string, unknown>;
  const lines = [
    `agent ${String(s.agent)} of cluster ${String(s.cluster)} (${String(s.version)}): ${String(s.status)}`,
    `  role: ${String(s.role)}${s.polling ? ', polling' : ', not polling'}; hub stream ${s.hub_connected ? 'up' : 'down'}`,
    `  last poll: ${s.last_poll_at ? `${String(s.last_poll_at)} (${Number(s.last_poll_seconds).toFixed(3)} s)` : 'none yet'}; polls ${String(s.polls)}, failed ${String(s.poll_failures)}; Slurm API ${String(s.slurm_api_version || '?')}`,
    `  spool: epoch ${String(spool.epoch)}, seq ${String(spool.last_seq)}, acked ${String(spool.acked_seq)}, ${String(spool.unacked)} unacked (${String(spool.unacked_bytes)} bytes)`,
    ...((s.reasons as string[] | undefined) ?? []).map((r) => `  ! ${r}`),
  ];
  return `${lines.join('\n')}\n`;
}

function get(o: { host: string; port: number; path: string; headers: Record<string, string>; timeoutMs: number; tls?: object }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = (o.tls ? httpsRequest : httpRequest)({ host: o.host, port: o.port, path: o.path, headers: o.headers, timeout: o.timeoutMs, ...(o.tls ?? {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer in ${o.timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
