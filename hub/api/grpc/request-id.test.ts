import { credentials, Metadata, Server, ServerCredentials, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetServiceClient, FleetServiceService } from '../../../generated/fleet/v1/fleet.js';
import { requestIdInterceptor } from './request-id.js';

// A real grpc-js server and client on loopback; the hub's own handlers are not needed to show
// what the interceptor does to the metadata both ways.
describe('gRPC x-request-id', () => {
  let server: Server;
  let client: InstanceType<typeof FleetServiceClient>;
  const seen: string[] = [];

  beforeAll(async () => {
    server = new Server({ interceptors: [requestIdInterceptor()] });
    const impl: Record<string, unknown> = {
      listClusters: (call: { metadata: Metadata }, cb: (err: null, res: unknown) => void) => {
        seen.push(String(call.metadata.get('x-request-id')[0]));
        cb(null, { clusters: [] });
      },
      getJob: (call: { metadata: Metadata }, cb: (err: Partial<ServiceError>) => void) => {
        seen.push(String(call.metadata.get('x-request-id')[0]));
        cb({ code: status.NOT_FOUND, details: 'no such job' });
      },
    };
    server.addService(FleetServiceService, impl as never);
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    client = new FleetServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  });

  afterAll(() => {
    client?.close();
    server?.forceShutdown();
  });

  function call(method: 'listClusters' | 'getJob', id?: string): Promise<{ headers?: Metadata; trailers?: Metadata; code: number }> {
    const md = new Metadata();
    if (id !== undefined) md.set('x-request-id', id);
    return new Promise((resolve) => {
      let headers: Metadata | undefined;
      const c = (client[method] as (req: object, md: Metadata, cb: (err: ServiceError | null) => void) => { on(e: string, f: (m: Metadata) => void): void })(
        method === 'getJob' ? { cluster: 'a', id: '1' } : {},
        md,
        (err) => resolve({ headers, trailers: err?.metadata, code: err?.code ?? status.OK }),
      );
      c.on('metadata', (m) => (headers = m));
    });
  }

  it("answers with the caller's id, which the handler saw too", async () => {
    const r = await call('listClusters', 'caller-grpc-9');
    expect(r.headers?.get('x-request-id')).toEqual(['caller-grpc-9']);
    expect(seen.at(-1)).toBe('caller-grpc-9');
  });

  it('gives a call without an id, or with one no log should carry (spaces, too long), a new UUID', async () => {
    const none = await call('listClusters');
    const odd = await call('listClusters', 'a b');
    const long = await call('listClusters', 'x'.repeat(200));
    for (const r of [none, odd, long]) expect(String(r.headers?.get('x-request-id')[0])).toMatch(/^[0-9a-f-]{36}$/);
    expect(none.headers?.get('x-request-id')).not.toEqual(odd.headers?.get('x-request-id'));
    expect(seen.at(-1)).toBe(String(long.headers?.get('x-request-id')[0]));
  });

  it('puts the id in the trailers of an answer that is only an error status', async () => {
    const r = await call('getJob', 'caller-grpc-10');
    expect(r.code).toBe(status.NOT_FOUND);
    expect(r.trailers?.get('x-request-id')).toEqual(['caller-grpc-10']);
  });
});
