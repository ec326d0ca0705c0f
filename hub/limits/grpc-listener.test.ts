import { Client, Metadata, Server, ServerCredentials, credentials, type ServiceError } from '@grpc/grpc-js';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionLimiter } from './connection-limits.js';
import { listenGrpc, type GrpcListener } from './grpc-listener.js';

const asIs = (b: Buffer): Buffer => b;

/** A raw TCP connection from `from`; `closed` gets it when the other side closes it. */
function open(port: number, from: string, closed: Set<Socket>): Socket {
  const s = connect({ host: '127.0.0.1', port, localAddress: from });
  s.on('error', () => undefined);
  s.on('close', () => closed.add(s));
  return s;
}

async function until(what: string, ok: () => boolean): Promise<void> {
  for (const t0 = Date.now(); !ok(); await new Promise((r) => setTimeout(r, 10))) {
    if (Date.now() - t0 > 20_000) throw new Error(`timed out waiting for ${what}`);
  }
}

describe('gRPC listener connection caps', () => {
  let server: Server | undefined;
  let listener: GrpcListener | undefined;
  const sockets: Socket[] = [];
  afterEach(() => {
    for (const s of sockets.splice(0)) s.destroy();
    listener?.stop();
    server?.forceShutdown();
  });

  it('closes connections past the per-source cap and past the total at once; an admitted caller is served', async () => {
    server = new Server();
    server.addService({ echo: { path: '/t.T/Echo', requestStream: false, responseStream: false, requestSerialize: asIs, requestDeserialize: asIs, responseSerialize: asIs, responseDeserialize: asIs } }, {
      echo: (call: { request: Buffer }, done: (err: null, reply: Buffer) => void) => done(null, call.request),
    });
    const limiter = new ConnectionLimiter({ perSource: 2, total: 4, trusted: ['127.0.0.9'] });
    listener = await listenGrpc(server, ServerCredentials.createInsecure(), '127.0.0.1', 0, limiter);
    const closed = new Set<Socket>();
    let tried = 0;
    /** n connections from addr, once the listener has admitted or refused each and the refused are seen closed. */
    const from = async (addr: string, n: number): Promise<Socket[]> => {
      const out = Array.from({ length: n }, () => open(listener!.port, addr, closed));
      sockets.push(...out);
      tried += n;
      const judged = (): number => limiter.connections + limiter.refused.per_source + limiter.refused.total;
      await until('the listener to judge every connection', () => judged() === tried);
      await until('the refused closed', () => closed.size === limiter.refused.per_source + limiter.refused.total);
      return out;
    };
    // Per source: two of three stay open.
    const a = await from('127.0.0.2', 3);
    expect(a.filter((s) => closed.has(s)).length).toBe(1);
    expect(limiter.refused.per_source).toBe(1);
    // A trusted source is exempt from the per-source cap, not from the total (4): one more fits.
    const t = await from('127.0.0.9', 3);
    expect(t.filter((s) => closed.has(s)).length).toBe(1);
    expect(limiter.refused.total).toBe(1);
    // Room comes back as connections end: a gRPC call is served.
    a.forEach((s) => s.destroy());
    await until('the ended connections released', () => limiter.connections === 2);
    const client = new Client(`127.0.0.1:${listener.port}`, credentials.createInsecure());
    const reply = await new Promise<Buffer | ServiceError>((resolve) =>
      client.makeUnaryRequest('/t.T/Echo', asIs, asIs, Buffer.from('hello'), new Metadata(), { deadline: Date.now() + 10_000 }, (err, value) => resolve(err ?? value!)),
    );
    client.close();
    expect(reply).toEqual(Buffer.from('hello'));
    expect(limiter.connections).toBeLessThanOrEqual(4);
  });
});
