// slurmrestd request figures: bounded path templates, and a real transport counting what a
// scrape of the agent and (through its heartbeat) of the hub would show.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { agentReport } from '../../observe/index.js';
import { pathTemplate } from './request-stats.js';
import { RestTransport } from './transport.js';

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

describe('slurmrestd request stats', () => {
  it('labels a request by method and a path template: no version, no ids, no query, no unknown resource', () => {
    expect(pathTemplate('/slurm/v0.0.41/jobs?update_time=1700000000')).toBe('/slurm/jobs');
    expect(pathTemplate('/slurm/v0.0.41/job/12345')).toBe('/slurm/job/{id}');
    expect(pathTemplate('/slurm/v0.0.39/node/node-007')).toBe('/slurm/node/{id}');
    expect(pathTemplate('/slurmdb/v0.0.41/associations')).toBe('/slurmdb/associations');
    expect(pathTemplate('/openapi/v3')).toBe('/openapi');
    expect(pathTemplate('/slurm/v0.0.41/evil-resource-name')).toBe('/slurm/other');
    expect(pathTemplate('/etc/passwd')).toBe('/other');
  });

  it('counts each request with its latency and each failure by kind, and the heartbeat carries them', async () => {
    const server = http.createServer((req, res) => {
      if (req.url!.includes('/diag')) res.writeHead(500).end('{}');
      else if (req.url!.includes('/job/')) res.writeHead(404).end('{}');
      else if (req.url!.includes('/nodes')) return; // never answers
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const t = new RestTransport({ endpoints: [url], timeoutMs: 300, maxBodyBytes: 1 << 20 });
    try {
      for (const path of ['/slurm/v0.0.41/jobs?update_time=1', '/slurm/v0.0.41/jobs?update_time=2', '/slurm/v0.0.41/diag', '/slurm/v0.0.41/job/77']) await t.request({ path });
      await expect(t.request({ path: '/slurm/v0.0.41/nodes' })).rejects.toThrow(/did not answer/);
      // an endpoint nobody listens on
      const closed = new RestTransport({ endpoints: ['http://127.0.0.1:9'], timeoutMs: 300, maxBodyBytes: 1 << 20 });
      await expect(closed.request({ path: '/slurm/v0.0.41/ping' })).rejects.toThrow(/unreachable/);
      expect([...closed.stats.errors.entries.values()].map((e) => [e.labels, e.value.n])).toEqual([[{ method: 'GET', path: '/slurm/ping', kind: 'unreachable' }, 1]]);
      closed.close();

      const durations = new Map([...t.stats.durations.entries.values()].map((e) => [`${e.labels.method} ${e.labels.path}`, e.value]));
      expect([...durations.keys()].sort()).toEqual(['GET /slurm/diag', 'GET /slurm/job/{id}', 'GET /slurm/jobs', 'GET /slurm/nodes']);
      expect(durations.get('GET /slurm/jobs')!.count).toBe(2);
      // the timed-out request waited its 300 ms
      expect(durations.get('GET /slurm/nodes')!.sum).toBeGreaterThanOrEqual(0.29);
      const errors = Object.fromEntries([...t.stats.errors.entries.values()].map((e) => [`${e.labels.path} ${e.labels.kind}`, e.value.n]));
      expect(errors).toEqual({ '/slurm/diag http_5xx': 1, '/slurm/job/{id} http_4xx': 1, '/slurm/nodes timeout': 1 });

      const report = agentReport({ pipeline: { stats: { polls: 0, failures: 0, readErrors: 0, lastPollSeconds: 0 } as never, polling: true }, spool: { unackedCount: 0, unackedBytes: 0 }, slurmrestd: t.stats });
      const jobs = report.slurmrestd.find((r) => r.path === '/slurm/jobs')!;
      expect(jobs).toMatchObject({ method: 'GET', count: 2, errors: {} });
      expect(jobs.bucket_counts).toHaveLength(jobs.le.length + 1);
      expect(jobs.bucket_counts.reduce((a, b) => a + b, 0)).toBe(2);
      expect(report.slurmrestd.find((r) => r.path === '/slurm/nodes')!.errors).toEqual({ timeout: 1 });
    } finally {
      t.close();
    }
  });
});
