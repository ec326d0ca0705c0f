import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SlurmResponseError, SlurmUnavailableError } from '../../../shared/errors/index.js';
import { RestTransport } from './transport.js';

const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.secret-token.sig';
const servers: http.Server[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function serve(handler: http.RequestListener, socketPath?: string): Promise<{ url: string; connections: () => number }> {
  const server = http.createServer(handler);
  let connections = 0;
  server.on('connection', () => connections++);
  servers.push(server);
  await new Promise<void>((resolve) => (socketPath ? server.listen(socketPath, resolve) : server.listen(0, '127.0.0.1', resolve)));
  const url = socketPath ? `unix:${socketPath}` : `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, connections: () => connections };
}

function transport(endpoints: string[], extra: Partial<ConstructorParameters<typeof RestTransport>[0]> = {}): RestTransport {
  return new RestTransport({ endpoints, auth: { user: 'root', token: TOKEN }, timeoutMs: 2000, maxBodyBytes: 1 << 20, ...extra });
}

async function failure(p: Promise<unknown>): Promise<Error> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(err, 'expected a rejection').toBeInstanceOf(Error);
  // The token must never travel in an error, whatever the failure.
  expect(`${err!.message} ${JSON.stringify(err)} ${String(err!.stack)}`).not.toContain(TOKEN);
  return err!;
}

describe('RestTransport', () => {
  it('sends the JWT headers and a JSON body, and keeps the connection alive', async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    const bodies: string[] = [];
    const srv = await serve((req, res) => {
      seen.push(req.headers);
      let b = '';
      req.on('data', (c) => (b += c));
      req.on('end', () => {
        bodies.push(b);
        res.setHeader('content-type', 'application/json');
        res.end('{"ok":1}');
      });
    });
    const t = transport([srv.url]);
    const first = await t.request({ path: '/slurm/v0.0.41/ping' });
    await t.request({ method: 'POST', path: '/slurm/v0.0.41/job/1', body: { hold: true } });
    expect(first).toEqual({ status: 200, contentType: 'application/json', text: '{"ok":1}', endpoint: srv.url });
    expect(seen[0]['x-slurm-user-name']).toBe('root');
    expect(seen[0]['x-slurm-user-token']).toBe(TOKEN);
    expect(bodies[1]).toBe('{"hold":true}');
    expect(seen[1]['content-type']).toBe('application/json');
    expect(srv.connections()).toBe(1);
    t.close();
  });

  it('sends no auth headers without auth (rest_auth/local) and works over a unix socket', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sfleet-rest-'));
    dirs.push(dir);
    let headers: http.IncomingHttpHeaders = {};
    const srv = await serve((req, res) => {
      headers = req.headers;
      res.end('{}');
    }, path.join(dir, 'slurmrestd.sock'));
    const t = transport([srv.url], { auth: undefined });
    const res = await t.request({ path: '/openapi/v3' });
    expect(res.status).toBe(200);
    expect(res.endpoint).toBe(srv.url);
    expect(headers['x-slurm-user-token']).toBeUndefined();
    t.close();
  });

  it('returns 304 without a body as status only', async () => {
    const srv = await serve((_req, res) => {
      res.statusCode = 304;
      res.end();
    });
    const t = transport([srv.url]);
    expect(await t.request({ path: '/slurm/v0.0.38/jobs?update_time=5' })).toMatchObject({ status: 304, contentType: '', text: '' });
    t.close();
  });

  it('times out a request that gets no answer', async () => {
    const srv = await serve(() => undefined);
    const t = transport([srv.url], { timeoutMs: 150 });
    const err = await failure(t.request({ path: '/slurm/v0.0.41/jobs' }));
    expect(err).toBeInstanceOf(SlurmUnavailableError);
    expect(err.message).toBe(`slurmrestd did not answer GET /slurm/v0.0.41/jobs on ${srv.url} within 150 ms`);
    t.close();
  });

  it('stops at the caller\'s AbortSignal', async () => {
    const srv = await serve(() => undefined);
    const t = transport([srv.url]);
    const ac = new AbortController();
    const p = t.request({ path: '/slurm/v0.0.41/jobs', signal: ac.signal });
    setTimeout(() => ac.abort(new Error('agent stopping')), 20);
    expect((await failure(p)).message).toBe('agent stopping');
    t.close();
  });

  it('reports a body cut off before its Content-Length', async () => {
    const srv = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 1000 });
      res.write('{"jobs":[');
      setTimeout(() => res.socket?.destroy(), 10);
    });
    const t = transport([srv.url]);
    const err = await failure(t.request({ path: '/slurm/v0.0.41/jobs' }));
    expect(err).toBeInstanceOf(SlurmResponseError);
    expect(err.message).toMatch(/cut off after 9 bytes/);
    t.close();
  });

  it('refuses an answer larger than the cap', async () => {
    const srv = await serve((_req, res) => res.end('x'.repeat(5000)));
    const t = transport([srv.url], { maxBodyBytes: 1000 });
    const err = await failure(t.request({ path: '/slurm/v0.0.41/jobs' }));
    expect(err).toBeInstanceOf(SlurmResponseError);
    expect(err.message).toMatch(/larger than 1000 bytes/);
    t.close();
  });

  it('hands a body to the sink chunk by chunk, with no total cap, when the sink wants it', async () => {
    const srv = await serve((req, res) => {
      res.statusCode = req.url === '/missing' ? 404 : 200;
      res.setHeader('content-type', 'application/json');
      for (let i = 0; i < 5; i++) res.write('y'.repeat(1000));
      res.end();
    });
    const t = transport([srv.url], { maxBodyBytes: 1000 });
    let got = 0;
    const statuses: number[] = [];
    const sink = (status: number, contentType: string) => {
      statuses.push(status);
      expect(contentType).toBe('application/json');
      return status === 200 ? { write: (chunk: Buffer) => void (got += chunk.length) } : undefined;
    };
    const res = await t.request({ path: '/slurm/v0.0.41/jobs', sink });
    expect(res).toMatchObject({ status: 200, text: '', streamed: true });
    expect(got).toBe(5000);
    // The sink declined: buffered as usual, so the cap applies.
    const err = await failure(t.request({ path: '/missing', sink }));
    expect(err.message).toMatch(/larger than 1000 bytes/);
    expect(statuses).toEqual([200, 404]);
    t.close();
  });

  it('stops the download with the error the sink throws', async () => {
    const srv = await serve((_req, res) => {
      res.write('a'.repeat(100));
      setTimeout(() => res.end('b'), 50);
    });
    const t = transport([srv.url]);
    const sink = () => ({
      write: () => {
        throw new SlurmResponseError('bad element 3');
      },
    });
    const err = await failure(t.request({ path: '/slurm/v0.0.41/jobs', sink }));
    expect(err).toBeInstanceOf(SlurmResponseError);
    expect(err.message).toBe('bad element 3');
    t.close();
  });

  describe('streamed answers (read straight off the socket)', () => {
    const collect = () => {
      const chunks: Buffer[] = [];
      const statuses: number[] = [];
      // A copy of each chunk: the transport reuses their memory.
      const sink = (status: number) => {
        statuses.push(status);
        return status === 200 ? { write: (chunk: Buffer) => void chunks.push(Buffer.from(chunk)) } : undefined;
      };
      return { got: { join: () => Buffer.concat(chunks).toString('utf8') }, statuses, sink };
    };

    it('sends the JWT headers and hands over a chunked or Content-Length body, over TCP and a unix socket', async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'sfleet-rest-'));
      dirs.push(dir);
      const seen: http.IncomingHttpHeaders[] = [];
      const handler: http.RequestListener = (req, res) => {
        seen.push(req.headers);
        res.setHeader('content-type', 'application/json');
        if (req.url === '/length') res.setHeader('content-length', 3 * 70_000);
        // Three writes: a chunked answer has three chunks; bytes cut anywhere by the socket.
        for (const c of ['a', 'ü', 'c']) res.write(c.repeat(c === 'ü' ? 35_000 : 70_000));
        res.end();
      };
      for (const srv of [await serve(handler), await serve(handler, path.join(dir, 'slurmrestd.sock'))]) {
        const t = transport([srv.url]);
        for (const p of ['/chunked', '/length']) {
          const { got, sink } = collect();
          const res = await t.request({ path: p, sink });
          expect(res).toEqual({ status: 200, contentType: 'application/json', text: '', endpoint: srv.url, streamed: true });
          expect(got.join()).toBe('a'.repeat(70_000) + 'ü'.repeat(35_000) + 'c'.repeat(70_000));
        }
        expect(seen.at(-1)!['x-slurm-user-token']).toBe(TOKEN);
        expect(seen.at(-1)!['x-slurm-user-name']).toBe('root');
        t.close();
      }
    });

    it('buffers what the sink declines (with the cap), and returns 304 as status only', async () => {
      const srv = await serve((req, res) => {
        if (req.url === '/same') {
          res.statusCode = 304;
          return res.end();
        }
        res.statusCode = req.url === '/small' ? 500 : 404;
        res.setHeader('content-type', 'application/json');
        res.end(req.url === '/small' ? '{"errors":[]}' : 'z'.repeat(5000));
      });
      const t = transport([srv.url], { maxBodyBytes: 1000 });
      const { sink, statuses } = collect();
      expect(await t.request({ path: '/small', sink })).toEqual({ status: 500, contentType: 'application/json', text: '{"errors":[]}', endpoint: srv.url });
      expect(await t.request({ path: '/same', sink })).toMatchObject({ status: 304, text: '' });
      expect((await failure(t.request({ path: '/big', sink }))).message).toMatch(/larger than 1000 bytes/);
      expect(statuses).toEqual([500, 304, 404]);
      t.close();
    });

    it('reports a body cut off, a silent server and an abort as the buffered path does', async () => {
      const srv = await serve((req, res) => {
        if (req.url === '/silent') return;
        res.writeHead(200, { 'content-type': 'application/json', ...(req.url === '/cut' ? { 'content-length': 1000 } : {}) });
        res.write('{"jobs":[');
        setTimeout(() => res.socket?.destroy(), 10);
      });
      const t = transport([srv.url], { timeoutMs: 150 });
      for (const p of ['/cut', '/cut-chunked']) {
        const err = await failure(t.request({ path: p, sink: collect().sink }));
        expect(err).toBeInstanceOf(SlurmResponseError);
        expect(err.message).toBe(`slurmrestd answer to GET ${p} on ${srv.url} was cut off after 9 bytes`);
      }
      const silent = await failure(t.request({ path: '/silent', sink: collect().sink }));
      expect(silent.message).toBe(`slurmrestd did not answer GET /silent on ${srv.url} within 150 ms`);
      const ac = new AbortController();
      const p = t.request({ path: '/silent', sink: collect().sink, signal: ac.signal });
      setTimeout(() => ac.abort(new Error('agent stopping')), 20);
      expect((await failure(p)).message).toBe('agent stopping');
      t.close();
    });

    it('moves on to the next endpoint when one is down or hangs up without answering', async () => {
      const rude = await serve((req) => req.socket.destroy());
      const live = await serve((_req, res) => res.end('{"jobs":[]}'));
      const t = transport(['http://127.0.0.1:1', rude.url, live.url]);
      const { got, sink } = collect();
      expect((await t.request({ path: '/jobs', sink })).endpoint).toBe(live.url);
      expect(got.join()).toBe('{"jobs":[]}');
      t.close();
    });

    it('never sends a header holding a line break, and does not name it', async () => {
      const srv = await serve((_req, res) => res.end('{}'));
      const t = new RestTransport({ endpoints: [srv.url], auth: { user: 'root', token: `${TOKEN}\r\nx-evil: 1` }, timeoutMs: 2000, maxBodyBytes: 1000 });
      const err = await failure(t.request({ path: '/jobs', sink: collect().sink }));
      expect(err.message).toBe(`slurmrestd request GET /jobs on ${srv.url}: a header or the path holds a line break`);
      t.close();
    });
  });

  it('fails over to the next endpoint on connection failure and stays there', async () => {
    const dead = await serve(() => undefined);
    const deadUrl = dead.url;
    servers.pop()!.close();
    let hits = 0;
    const live = await serve((_req, res) => {
      hits++;
      res.end('{}');
    });
    const t = transport([deadUrl, 'unix:/nonexistent/slurmrestd.sock', live.url]);
    expect((await t.request({ path: '/a' })).endpoint).toBe(live.url);
    expect(t.endpoint).toBe(live.url);
    await t.request({ path: '/b' });
    expect(hits).toBe(2);
    t.close();
  });

  it('names every endpoint when none is reachable', async () => {
    const t = transport(['http://127.0.0.1:1', 'unix:/nonexistent/x.sock']);
    const err = await failure(t.request({ path: '/slurm/v0.0.41/ping' }));
    expect(err).toBeInstanceOf(SlurmUnavailableError);
    expect(err.message).toBe('no slurmrestd endpoint reachable (http://127.0.0.1:1, unix:/nonexistent/x.sock; last: ENOENT)');
    t.close();
  });

  it('rejects malformed endpoints at construction', () => {
    expect(() => transport(['ftp://x'])).toThrow(/protocol must be http, https or unix/);
    expect(() => transport(['unix:relative.sock'])).toThrow(/must be absolute/);
    expect(() => transport(['not a url'])).toThrow(/is not a URL/);
    expect(() => transport([])).toThrow(/at least one endpoint/);
  });
});
