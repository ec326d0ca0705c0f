// Abuse resistance against a real hub process (issue 12), one test per item: what callers the gate
// has not let in can make the hub spend before it refuses them (memory measured from /proc, audit
// record sizes, bodies in flight, string fields), cross-site cookie requests, trusted proxies,
// connection caps and slow requests, file modes. Open watch streams (sessions that end,
// backpressure) are in abuse-watch.test.ts.
import { Client as GrpcClient, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grpcClientCredentials, loadTls, type TlsFiles } from '../shared/tls/index.js';
import { httpsCall } from './harness/hub-child.js';
import { LoginHub } from './harness/login-hub.js';
import { makePki, type TestPki } from './harness/pki.js';
import { assertBuilt, sfleet } from './harness/sfleet-process.js';
import { sleep, waitFor } from './harness/wait.js';

const MiB = 1024 * 1024;
const BIG = 32 * MiB;
const PASSWORD = 'correct horse battery staple';
let pki: TestPki;
let hub: LoginHub;
let admin: TlsFiles;
let nobody: TlsFiles;
let revoked: TlsFiles;

function rssBytes(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1];
  return Number(kb) * 1024;
}

/** One REST call with a client certificate and a 32 MiB body: the status, or "reset" when the hub closed the connection first. */
function bigPost(cert: TlsFiles, path: string): Promise<number | 'reset'> {
  return new Promise((resolve) => {
    const req = request(
      `${hub.httpUrl}${path}`,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(BIG) }, ca: readFileSync(pki.ca), cert: readFileSync(cert.cert), key: readFileSync(cert.key), timeout: 60_000 },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', () => resolve('reset'));
    req.on('timeout', () => req.destroy());
    const chunk = Buffer.alloc(MiB, 'a');
    let sent = 0;
    const pump = (): void => {
      while (sent < BIG) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

/** A 32 MiB protobuf message (field 1, a string), built once and sent as is by every call (the client does not copy it per call). */
const BIG_MESSAGE = ((): Buffer => {
  const len: number[] = [];
  for (let n = BIG; ; n >>>= 7) {
    if (n < 0x80) {
      len.push(n);
      break;
    }
    len.push((n & 0x7f) | 0x80);
  }
  return Buffer.concat([Buffer.from([0x0a, ...len]), Buffer.alloc(BIG, 'c')]);
})();
const asIs = (b: Buffer): Buffer => b;

function rawClient(cert: TlsFiles): GrpcClient {
  return new GrpcClient(hub.grpcAddress, grpcClientCredentials(loadTls(cert, 'abuse')), { 'grpc.max_send_message_length': -1 });
}

function grpcBigCall(cert: TlsFiles): Promise<ServiceError | undefined> {
  const client = rawClient(cert);
  return new Promise((resolve) =>
    client.makeUnaryRequest('/fleet.v1.FleetService/ListJobs', asIs, asIs, BIG_MESSAGE, new Metadata(), (err) => {
      client.close();
      resolve(err ?? undefined);
    }),
  );
}

function agentBigHello(cert: TlsFiles): Promise<ServiceError> {
  const client = rawClient(cert);
  const call = client.makeBidiStreamRequest('/fleet.v1.AgentService/Connect', asIs, asIs, new Metadata());
  return new Promise((resolve) => {
    call.on('data', () => {});
    call.on('error', (err: ServiceError) => {
      client.close();
      resolve(err);
    });
    call.write(BIG_MESSAGE);
  });
}

function auditLines(): string[] {
  const dir = hub.auditDir!;
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean));
}

beforeAll(async () => {
  assertBuilt();
  pki = await makePki('abuse.sfleet');
  admin = await pki.issue('client', 'admin');
  nobody = await pki.issue('client', 'nobody');
  revoked = await pki.issue('client', 'mallory');
  const dir = mkdtempSync(join(tmpdir(), 'sfleet-abuse-'));
  hub = new LoginHub(dir, pki, {
    rbac: { roles: {}, bindings: [{ client: 'admin', role: 'admin' }, { client: 'mallory', role: 'admin' }, { user: 'alice', role: 'admin' }] },
    // 1 MiB for anonymous bodies in flight: 16 login bodies of the 64 KiB limit fill it.
    http: { allowed_origins: ['https://dashboard.example:8443'], unauthorized_in_flight: '1MiB', trusted_proxies: ['127.0.0.3/32'] },
  });
  await hub.ports();
  await sfleet(['user', 'add', 'alice', '--data-dir', hub.dataDir], { ...process.env, SFLEET_USER_PASSWORD: PASSWORD });
  await sfleet(['ca', 'revoke', '--serial', new X509Certificate(readFileSync(revoked.cert)).serialNumber, '--data-dir', hub.dataDir, '--reason', 'stolen laptop'], process.env);
  await hub.start();
});

afterAll(async () => {
  await hub?.stop();
});

describe('abuse: cross-site requests', () => {
  let cookie: string;
  let csrf: string;

  beforeAll(async () => {
    const login = await hub.login({ username: 'alice', password: PASSWORD, set_cookie: true });
    expect(login.status).toBe(200);
    const set = ([] as string[]).concat(login.headers['set-cookie'] ?? []);
    const session = set.find((c) => c.startsWith('sfleet_session='))!;
    const csrfCookie = set.find((c) => c.startsWith('sfleet_csrf='))!;
    expect(csrfCookie).toMatch(/; Path=\/; Secure; SameSite=Strict/);
    expect(csrfCookie).not.toMatch(/HttpOnly/i);
    cookie = session.split(';', 1)[0];
    csrf = csrfCookie.split(';', 1)[0].slice('sfleet_csrf='.length);
  });

  const cancel = (headers: Record<string, string>) => hub.request('POST', '/api/v1/jobs/prod/1/cancel', { headers });

  it('refuses a cookie POST from another site, from the same host on another port, and without Origin or token; lets the dashboard through', async () => {
    const own = `https://127.0.0.1:${hub.httpPort}`;
    const evil = await cancel({ cookie, origin: 'https://evil.example', 'x-csrf-token': csrf });
    expect(evil.status).toBe(403);
    expect(evil.json()).toMatchObject({ code: 'SF_API_CROSS_SITE' });
    const otherPort = await cancel({ cookie, origin: `https://127.0.0.1:${hub.httpPort + 1}`, 'x-csrf-token': csrf });
    expect(otherPort.status).toBe(403);
    expect((await cancel({ cookie })).json()).toMatchObject({ code: 'SF_API_CROSS_SITE' });
    expect((await cancel({ cookie, origin: own })).json()).toMatchObject({ code: 'SF_API_CROSS_SITE', detail: expect.stringContaining('X-CSRF-Token') });
    expect((await cancel({ cookie, origin: own, 'x-csrf-token': 'x'.repeat(csrf.length) })).status).toBe(403);
    // The dashboard (own origin, or an allowed one) with the token: past the check, to the command itself (503: no agent of cluster prod is connected).
    for (const origin of [own, 'https://dashboard.example:8443']) {
      const ok = await cancel({ cookie, origin, 'x-csrf-token': csrf });
      expect(ok.json()).not.toMatchObject({ code: 'SF_API_CROSS_SITE' });
      expect(ok.status).toBe(503);
    }
    // A bearer caller is not a browser: no Origin needed.
    const token = cookie.slice('sfleet_session='.length);
    expect((await cancel({ authorization: `Bearer ${token}` })).status).toBe(503);
    const refusals = hub.auditRecords().filter((r) => r.action === 'jobs:cancel' && r.user === 'alice' && r.status === 403);
    expect(refusals.length).toBeGreaterThanOrEqual(5);
  });
});

describe('abuse: bounded before trusted', () => {
  it('10 parallel 32 MiB calls on each listener from a role-less and a revoked certificate are refused; the hub grows by at most 64 MiB; no audit record is over 16 KiB', async () => {
    const before = rssBytes(hub.pid);
    for (const cert of [nobody, revoked]) {
      const grpc = await Promise.all(Array.from({ length: 10 }, () => grpcBigCall(cert)));
      for (const err of grpc) expect([status.PERMISSION_DENIED, status.UNAUTHENTICATED, status.RESOURCE_EXHAUSTED]).toContain(err?.code);
      const agent = await Promise.all(Array.from({ length: 10 }, () => agentBigHello(cert)));
      for (const err of agent) expect([status.PERMISSION_DENIED, status.UNAUTHENTICATED, status.RESOURCE_EXHAUSTED]).toContain(err.code);
      const rest = await Promise.all(Array.from({ length: 10 }, () => bigPost(cert, '/api/v1/jobs/prod/1/cancel')));
      for (const answer of rest) expect([401, 403, 413, 'reset']).toContain(answer);
    }
    const grown = rssBytes(hub.pid) - before;
    expect(grown).toBeLessThanOrEqual(64 * MiB);
    // The hub still answers, and recorded the refusals, each record bounded.
    expect((await httpsCall(`${hub.httpUrl}/api/v1/clusters`, { ca: pki.ca, cert: admin.cert, key: admin.key, timeoutMs: 10_000 })).status).toBe(200);
    const lines = auditLines();
    const records = lines.map((l) => JSON.parse(l) as { type: string; user: string | null; outcome: string; transport: string });
    expect(records.filter((r) => r.type === 'record' && r.user === 'nobody' && r.outcome === 'denied' && r.transport === 'grpc').length).toBeGreaterThanOrEqual(10);
    expect(records.filter((r) => r.type === 'record' && r.transport === 'agent' && r.outcome === 'denied').length).toBeGreaterThanOrEqual(20);
    for (const line of lines) expect(Buffer.byteLength(line)).toBeLessThanOrEqual(16 * 1024);
  });
});

describe('abuse: in-flight bytes of callers not yet authorized', () => {
  /** An anonymous login that declares a 64 KiB body and sends 10 bytes of it, then waits: its answer, if one comes, and its end. */
  function slowLogin(): { answer: Promise<number>; end: () => void } {
    const req = request(`${hub.httpUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(64 * 1024) }, ca: readFileSync(pki.ca) });
    const answer = new Promise<number>((resolve) => {
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', () => resolve(-1));
    });
    req.write('{"username"');
    return { answer, end: () => req.destroy() };
  }

  it('slow anonymous bodies hold at most http.unauthorized_in_flight: then 503 SF_API_BUSY before reading; an admin is not counted; room comes back when they end', async () => {
    const holding = Array.from({ length: 16 }, () => slowLogin());
    await sleep(1_000);
    const refused = await hub.request('POST', '/api/v1/auth/login', { body: { username: 'alice', password: 'wrong' } });
    expect(refused.status).toBe(503);
    expect(refused.json()).toMatchObject({ code: 'SF_API_BUSY' });
    // An authorized caller's body is not counted: the cancel gets to the command (503 from there: no agent of prod is connected).
    const adminPost = await httpsCall(`${hub.httpUrl}/api/v1/jobs/prod/1/cancel`, { method: 'POST', body: {}, ca: pki.ca, cert: admin.cert, key: admin.key, timeoutMs: 10_000 });
    expect(JSON.parse(adminPost.body)).not.toMatchObject({ code: 'SF_API_BUSY' });
    expect(JSON.parse(adminPost.body)).toMatchObject({ code: 'SF_AGENT_NOT_CONNECTED' });
    for (const h of holding) h.end();
    // A wrong login is checked again (a password hash: slow on a loaded machine, hence the long timeouts).
    const login = () => httpsCall(`${hub.httpUrl}/api/v1/auth/login`, { method: 'POST', body: { username: 'nobody-here', password: 'wrong' }, ca: pki.ca, timeoutMs: 60_000 });
    await waitFor('anonymous logins are read again', async () => (await login()).status === 401, 60_000, 200);
  });
});

describe('abuse: short string fields on gRPC', () => {
  /** A protobuf message of one string field (field 1: ListJobsRequest.cluster). */
  const oneString = (text: string): Buffer => {
    const body = Buffer.from(text);
    const len: number[] = [];
    for (let n = body.length; ; n >>>= 7) {
      if (n < 0x80) {
        len.push(n);
        break;
      }
      len.push((n & 0x7f) | 0x80);
    }
    return Buffer.concat([Buffer.from([0x0a, ...len]), body]);
  };
  const listJobs = (cluster: string): Promise<ServiceError | undefined> => {
    const client = rawClient(admin);
    return new Promise((resolve) =>
      client.makeUnaryRequest('/fleet.v1.FleetService/ListJobs', asIs, asIs, oneString(cluster), new Metadata(), (err) => {
        client.close();
        resolve(err ?? undefined);
      }),
    );
  };

  it("an admin's request with a 5,000-byte cluster name is refused with the field named before a handler sees it; a short one is answered", async () => {
    const err = await listJobs('p'.repeat(5_000));
    expect(err?.code).toBe(status.INVALID_ARGUMENT);
    expect(err?.details).toMatch(/cluster is longer than 1024 bytes \(limits\.api_string\)/);
    expect(await listJobs('prod')).toBeUndefined();
  });
});

describe('abuse: trusted proxies', () => {
  const cancel = (job: number, localAddress: string) =>
    httpsCall(`${hub.httpUrl}/api/v1/jobs/prod/${job}/cancel`, { method: 'POST', body: {}, headers: { 'x-forwarded-for': '203.0.113.9' }, ca: pki.ca, cert: admin.cert, key: admin.key, timeoutMs: 10_000, localAddress });
  const sourceOf = (job: number) => hub.auditRecords().find((r) => r.action === 'jobs:cancel' && String(r.resource).includes(`/${job}`))?.source_ip;

  it("believes X-Forwarded-For only from http.trusted_proxies: an untrusted peer's is ignored in the audit record", async () => {
    await cancel(901, '127.0.0.1');
    await cancel(902, '127.0.0.3');
    await waitFor('both recorded', () => sourceOf(901) !== undefined && sourceOf(902) !== undefined, 10_000);
    expect(sourceOf(901)).toBe('127.0.0.1');
    expect(sourceOf(902)).toBe('203.0.113.9');
  });
});

describe('abuse: connection limits', () => {
  it("500 half-open slow requests from one source leave an admin's request answering", async () => {
    const sockets: TLSSocket[] = [];
    let closed = 0;
    for (let i = 0; i < 500; i++) {
      const raw = netConnect({ host: '127.0.0.1', port: hub.httpPort, localAddress: '127.0.0.2' });
      raw.on('error', () => undefined);
      const s = tlsConnect({ socket: raw, ca: readFileSync(pki.ca), servername: 'localhost', minVersion: 'TLSv1.3' });
      s.on('secureConnect', () => s.write('GET /api/v1/clusters HTTP/1.1\r\nHost: hub\r\nX-Slow: '));
      s.on('error', () => undefined);
      // Reads what the hub answers (a 408 when the header time is up), so its close is seen.
      s.resume();
      s.on('close', () => closed++);
      sockets.push(s);
      if (i % 50 === 49) await sleep(20);
    }
    // Past the per-source cap (256) the hub closes them at once.
    await waitFor('the connections over the cap closed', () => closed >= 500 - 256, 20_000);
    const t0 = Date.now();
    const answer = await httpsCall(`${hub.httpUrl}/api/v1/clusters`, { ca: pki.ca, cert: admin.cert, key: admin.key, timeoutMs: 10_000 });
    expect(answer.status).toBe(200);
    expect(Date.now() - t0).toBeLessThan(10_000);
    // The slow ones are cut when their header time (10 s) is up.
    await waitFor('the slow requests timed out', () => closed === 500, 30_000);
    for (const s of sockets) s.destroy();
  });

  it("500 half-open slow requests spread over 10 sources (under the per-source cap, so all held open) leave an admin's request answering", async () => {
    const sockets: TLSSocket[] = [];
    let open = 0;
    let closed = 0;
    for (let i = 0; i < 500; i++) {
      const raw = netConnect({ host: '127.0.0.1', port: hub.httpPort, localAddress: `127.0.1.${10 + (i % 10)}` });
      raw.on('error', () => undefined);
      const s = tlsConnect({ socket: raw, ca: readFileSync(pki.ca), servername: 'localhost', minVersion: 'TLSv1.3' });
      s.on('secureConnect', () => {
        open++;
        s.write('GET /api/v1/clusters HTTP/1.1\r\nHost: hub\r\nX-Slow: ');
      });
      s.on('error', () => undefined);
      s.resume();
      s.on('close', () => closed++);
      sockets.push(s);
      if (i % 50 === 49) await sleep(20);
    }
    try {
      await waitFor('the 500 requests are open and half sent', () => open === 500, 30_000);
      const answer = await httpsCall(`${hub.httpUrl}/api/v1/clusters`, { ca: pki.ca, cert: admin.cert, key: admin.key, timeoutMs: 10_000 });
      expect(answer.status).toBe(200);
      // More were held open than one source may hold: no per-source cap made the room.
      expect(open - closed).toBeGreaterThan(256);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });
});

describe('abuse: gRPC connection caps', () => {
  it("300 connections to the gRPC listener from one source: those past the per-source cap (256) are closed at once; an admin's gRPC call from another source answers", async () => {
    const { port } = new URL(`https://${hub.grpcAddress}`);
    const sockets: Socket[] = [];
    let closed = 0;
    for (let i = 0; i < 300; i++) {
      const s = netConnect({ host: '127.0.0.1', port: Number(port), localAddress: '127.0.0.7' });
      s.on('error', () => undefined);
      s.on('close', () => closed++);
      sockets.push(s);
      if (i % 50 === 49) await sleep(20);
    }
    try {
      await waitFor('the connections over the cap closed', () => closed >= 300 - 256, 20_000);
      await sleep(500);
      // Exactly those over the cap: the 256 stay open (they have not even begun TLS).
      expect(closed).toBe(300 - 256);
      const client = rawClient(admin);
      const err = await new Promise<ServiceError | null>((resolve) =>
        client.makeUnaryRequest('/fleet.v1.FleetService/ListClusters', asIs, asIs, Buffer.alloc(0), new Metadata(), (e) => {
          client.close();
          resolve(e);
        }),
      );
      expect(err).toBeNull();
    } finally {
      for (const s of sockets) s.destroy();
    }
  });
});

describe('abuse: small things', () => {
  it('creates data files 0600 and data directories 0700 (the events log, audit, users, alerting...)', () => {
    const mode = statSync(join(hub.dataDir, 'events', 'events.log')).mode & 0o777;
    expect(mode.toString(8)).toBe('600');
    const wrong: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        const m = (statSync(path).mode & 0o777).toString(8);
        if (entry.isDirectory()) {
          if (m !== '700') wrong.push(`${m} ${path}/`);
          walk(path);
        } else if (m !== '600') wrong.push(`${m} ${path}`);
      }
    };
    walk(hub.dataDir);
    expect(wrong).toEqual([]);
  });
});
