// Bad input is an answer, not a crash: wrong TLS, wrong CA, wrong cluster, garbage bytes,
// anonymous and malformed API calls. After each, the hub still serves.
import { mkdtempSync, readFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { createServer as createTlsServer, connect as tlsConnect } from 'node:tls';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../agent/main.js';
import { HubClient } from '../cli/client/index.js';
import { hubConfigSchema } from '../hub/config/index.js';
import { startHub, type RunningHub } from '../hub/main.js';
import { testLogger } from './harness/run-logs.js';
import type { TlsFiles } from '../shared/tls/index.js';
import { makePki, type TestPki } from './harness/pki.js';
import { freePort } from './harness/ports.js';
import { waitFor } from './harness/wait.js';
import { makeJob, ScriptedSource } from './harness/scripted-source.js';
import { startTestAgent } from './harness/test-agent.js';

const logger = testLogger('bad-input');
let pki: TestPki;
let other: TestPki;
let hub: RunningHub;
let httpPort: number;
const agents: RunningAgent[] = [];

async function agentTo(endpoint: string, cluster: string, tls: TlsFiles): Promise<RunningAgent> {
  const source = new ScriptedSource(cluster);
  source.model.job = [makeJob(cluster, 1)];
  const a = await startTestAgent({ cluster, endpoints: [endpoint], backoff: ['100ms', '300ms'], tls }, { logger, source });
  agents.push(a);
  return a;
}

function rawHttps(path: string, opts: { cert?: TlsFiles; headers?: Record<string, string>; method?: string; body?: string } = {}): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: httpPort,
        path,
        method: opts.method ?? 'GET',
        ca: readFileSync(pki.ca),
        cert: opts.cert ? readFileSync(opts.cert.cert) : undefined,
        key: opts.cert ? readFileSync(opts.cert.key) : undefined,
        headers: opts.headers,
      },
      (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

beforeAll(async () => {
  pki = await makePki('test.sfleet');
  other = await makePki('other.sfleet');
  httpPort = await freePort();
  hub = await startHub(
    hubConfigSchema.parse({ listen: { grpc: '127.0.0.1:0', http: `127.0.0.1:${httpPort}` }, tls: pki.hub, data_dir: mkdtempSync(join(tmpdir(), 'hub-')) }),
    { logger },
  );
});

afterAll(async () => {
  for (const a of agents) await a.close();
  await hub.close();
});

describe('the agent facing a wrong hub', () => {
  it('refuses a hub that only speaks TLS 1.2, keeps retrying, does not crash', async () => {
    const port = await freePort();
    const server = createTlsServer({ cert: readFileSync(pki.hub.cert), key: readFileSync(pki.hub.key), maxVersion: 'TLSv1.2' });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    const a = await agentTo(`127.0.0.1:${port}`, 'tls12', await pki.agent('tls12'));
    await waitFor('a TLS error', () => a.stream.lastError);
    expect(a.stream.connected).toBe(false);
    expect(a.stream.lastError).toMatch(/protocol|version|handshake|TLS|SSL/i);
    await a.close();
    server.close();
  });

  it('refuses a hub whose certificate another CA signed', async () => {
    const stranger = await startHub(
      hubConfigSchema.parse({ listen: { grpc: '127.0.0.1:0', http: '127.0.0.1:0' }, tls: other.hub, data_dir: mkdtempSync(join(tmpdir(), 'hub-')) }),
      { logger },
    );
    const a = await agentTo(stranger.grpcAddress, 'wrongca', await pki.agent('wrongca'));
    await waitFor('a certificate error', () => a.stream.lastError);
    expect(a.stream.lastError).toMatch(/certificate|self.signed|verify|issuer/i);
    expect(stranger.state.clusters.has('wrongca')).toBe(false);
    await a.close();
    await stranger.close();
  });
});

describe('the hub facing a wrong agent', () => {
  it('refuses an agent certificate for cluster A speaking for cluster B', async () => {
    const a = await agentTo(hub.grpcAddress, 'cluster-b', await pki.agent('cluster-a'));
    await waitFor('refusal', () => a.stream.lastError);
    expect(a.stream.lastError).toContain('SF_INGEST_WRONG_CLUSTER: this certificate speaks for cluster "cluster-a", not "cluster-b"');
    expect(hub.state.clusters.has('cluster-b')).toBe(false);
    expect(hub.ingest.stats.rejected).toBeGreaterThan(0);
    await a.close();
  });

  it('refuses a client certificate on the agent stream', async () => {
    const a = await agentTo(hub.grpcAddress, 'sneaky', pki.client);
    await waitFor('refusal', () => a.stream.lastError);
    expect(a.stream.lastError).toContain('SF_INGEST_NOT_AN_AGENT');
    await a.close();
  });

  it('survives garbage on the gRPC and HTTP ports', async () => {
    for (const port of [Number(hub.grpcAddress.split(':')[1]), httpPort]) {
      await new Promise<void>((resolve) => {
        const s = netConnect(port, '127.0.0.1', () => s.write(Buffer.from('\x16\x03\x01garbage\x00\xff'.repeat(100), 'binary')));
        const done = (): void => {
          s.destroy();
          resolve();
        };
        s.on('close', done);
        s.on('error', done);
        setTimeout(done, 1000);
      });
    }
    // A TLS client that then sends non-HTTP/2 bytes.
    await new Promise<void>((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port: Number(hub.grpcAddress.split(':')[1]), ca: readFileSync(pki.ca), cert: readFileSync(pki.client.cert), key: readFileSync(pki.client.key), ALPNProtocols: ['h2'] }, () => s.write('not http2 at all\r\n\r\n'));
      const done = (): void => {
        s.destroy();
        resolve();
      };
      s.on('close', done);
      s.on('error', done);
      setTimeout(done, 1000);
    });
    const ok = await rawHttps('/api/v1/clusters', { cert: pki.client });
    expect(ok.status).toBe(200);
    const a = await agentTo(hub.grpcAddress, 'after-garbage', await pki.agent('after-garbage'));
    await waitFor('agent streaming after garbage', () => hub.state.job('after-garbage', '1'));
    await a.close();
  });
});

describe('the API facing bad callers', () => {
  it('answers anonymous calls 401 problem+json, and health probes without credentials', async () => {
    const res = await rawHttps('/api/v1/jobs');
    expect(res.status).toBe(401);
    expect(res.type).toContain('application/problem+json');
    expect(JSON.parse(res.body)).toMatchObject({ status: 401, code: 'SF_AUTH_UNAUTHENTICATED' });
    expect((await rawHttps('/healthz')).status).toBe(200);
    expect((await rawHttps('/readyz')).status).toBe(200);
  });

  it('does not accept a client certificate of another CA', async () => {
    const res = await rawHttps('/api/v1/jobs', { cert: other.client });
    expect(res.status).toBe(401);
  });

  it('refuses TLS 1.2 clients', async () => {
    const err = await new Promise<Error>((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port: httpPort, ca: readFileSync(pki.ca), maxVersion: 'TLSv1.2' }, () => resolve(new Error('connected')));
      s.on('error', resolve);
    });
    expect(err.message).toMatch(/protocol version|alert/i);
  });

  it('answers bad parameters and bodies with 400 and a reason', async () => {
    const badLimit = await rawHttps('/api/v1/jobs?limit=0', { cert: pki.client });
    expect(badLimit.status).toBe(400);
    const unknownFilter = await rawHttps('/api/v1/jobs?colour=red', { cert: pki.client });
    expect(unknownFilter.status).toBe(400);
    const badJson = await rawHttps('/api/v1/jobs/x/1/cancel', { cert: pki.client, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"reason":' });
    expect(badJson.status).toBe(400);
    expect(JSON.parse(badJson.body).code).toBe('SF_API_BAD_REQUEST');
    const unknown = await rawHttps('/api/v1/nothing', { cert: pki.client });
    expect(unknown.status).toBe(404);
    const token = await rawHttps('/api/v1/jobs', { headers: { authorization: 'Bearer sft_0000000000000000_' + 'x'.repeat(43) } });
    expect(token.status).toBe(401);
  });

  it('publishes an OpenAPI document listing every route with its permission', async () => {
    const doc = await new HubClient({ hub: `https://127.0.0.1:${httpPort}`, ca: pki.ca, cert: pki.client.cert, key: pki.client.key }).json<{ paths: Record<string, Record<string, { 'x-permission'?: string }>> }>('GET', '/api/v1/openapi.json');
    expect(doc.paths['/api/v1/jobs'].get['x-permission']).toBe('jobs:read');
    expect(doc.paths['/api/v1/jobs/{cluster}/{id}/cancel'].post['x-permission']).toBe('jobs:cancel');
    expect(doc.paths['/api/v1/watch']).toBeDefined();
  });
});
