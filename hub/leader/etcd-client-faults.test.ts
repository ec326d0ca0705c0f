// The etcd client under two faults, against a real gRPC server speaking etcd's protocol (etcd3's
// own rpc.proto) in etcd's place:
// - etcd out of space (NOSPACE) refuses every write with RESOURCE_EXHAUSTED. etcd3 counted that
//   as a failed member: it closed the host's channels (dropping the open watch) and the refusals
//   opened the breaker, so reads failed too. Refused writes must leave the watch and reads alone.
// - a member that drops out opens the breaker; once it answers again, the breaker lets a probe
//   through after breaker_reset and closes: calls work again without a restart.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/harness/wait.js';
import { etcdConfigSchema } from './config.js';
import { createEtcdClient } from './etcd-client.js';

const require = createRequire(import.meta.url);
const proto = join(dirname(require.resolve('etcd3/package.json')), 'proto', 'rpc.proto');
type Service = grpc.ServiceClientConstructor;
const pb = grpc.loadPackageDefinition(loadSync(proto, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true })).etcdserverpb as Record<string, Service>;

const header = { cluster_id: '1', member_id: '1', revision: '7', raft_term: '2' };
const NO_SPACE = 'etcdserver: mvcc: database space exceeded';

/** A fake etcd member: reads answer (no keys), writes are refused for space, watches stay open. */
class FakeEtcd {
  watchStreams = 0;
  endedStreams = 0;
  reads = 0;
  private server?: grpc.Server;

  async start(port = 0): Promise<number> {
    const server = new grpc.Server();
    server.addService(pb.KV.service, {
      Range: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => {
        this.reads++;
        cb(null, { header, kvs: [], more: false, count: '0' });
      },
      Put: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb({ code: grpc.status.RESOURCE_EXHAUSTED, details: NO_SPACE }),
    });
    server.addService(pb.Watch.service, {
      Watch: (call: grpc.ServerDuplexStream<{ create_request?: unknown; cancel_request?: { watch_id: string } }, unknown>) => {
        this.watchStreams++;
        let id = 0;
        call.on('data', (req) => {
          if (req.create_request) call.write({ header, watch_id: String(++id), created: true, events: [] });
          if (req.cancel_request) call.write({ header, watch_id: req.cancel_request.watch_id, canceled: true, events: [] });
        });
        call.on('cancelled', () => this.endedStreams++);
        call.on('end', () => call.end());
      },
    });
    this.server = server;
    return new Promise((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  }

  stop(): void {
    this.server?.forceShutdown();
  }
}

const fakes: FakeEtcd[] = [];
const clients: { close(): void }[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  for (const f of fakes.splice(0)) f.stop();
});

async function connect(port: number) {
  const client = await createEtcdClient(etcdConfigSchema.parse({ endpoints: [`http://127.0.0.1:${port}`], call_timeout: '1s', dial_timeout: '1s' }));
  clients.push(client);
  return client;
}

describe('etcd client faults', () => {
  it('writes refused for space (NOSPACE) keep the watch open and the reads answering: no breaker, no dropped channel', async () => {
    const etcd = new FakeEtcd();
    fakes.push(etcd);
    const client = await connect(await etcd.start());
    const watcher = await client.watch().key('k').create();
    let disconnects = 0;
    watcher.on('disconnected', () => disconnects++);

    // More refusals than breaker_failures (2): each says the cause, none says "circuit breaker".
    for (let i = 0; i < 5; i++) await expect(client.put('k').value('v').exec()).rejects.toThrow(/database space exceeded/);
    expect(await client.get('k').string()).toBeNull();
    // A closed channel ends its open streams at its next keep-alive ping (every 2 s, 1 s timeout):
    // "14 UNAVAILABLE: Connection dropped", and the watch reopens. Wait past that.
    await new Promise((r) => setTimeout(r, 4_000));
    expect({ watchStreams: etcd.watchStreams, endedStreams: etcd.endedStreams, disconnects }).toEqual({ watchStreams: 1, endedStreams: 0, disconnects: 0 });
    await watcher.cancel();
  });

  it('a member that comes back is used again after the breaker lets a probe through (breaker_reset 1 s)', async () => {
    const etcd = new FakeEtcd();
    fakes.push(etcd);
    const port = await etcd.start();
    const client = await connect(port);
    expect(await client.get('k').string()).toBeNull();

    etcd.stop();
    const failures: string[] = [];
    for (let i = 0; i < 4; i++) failures.push(await client.get('k').string().then(() => 'answered', (err: Error) => err.message));
    expect(failures.at(-1)).toMatch(/circuit breaker is open/);

    const back = new FakeEtcd();
    fakes.push(back);
    await back.start(port);
    // Generous bound for a loaded machine; the half-open probe itself comes after breaker_reset (1 s).
    await waitFor('a read answers again after the member is back', async () => (await client.get('k').string().then(() => true, () => false)) && back.reads > 0, 10_000, 100);
  });
});
