// The transport ceiling for the ingest benchmark: a grpc-js server on the same mutual-TLS
// credentials and the same AgentService path as the hub, whose handler neither decodes nor
// applies: it welcomes, reads epoch/seq from the front of each delta frame and acks it.
import { Server, type ServerDuplexStream, type ServiceDefinition } from '@grpc/grpc-js';
import { grpcServerCredentials, loadTls, type TlsFiles } from '../../../shared/tls/index.js';
import { childArgs, serve } from '../lib/rpc.js';
import { encodeHubMessage, peekEpochSeq } from '../lib/wire.js';

const args = childArgs<{ listen: string; tls: TlsFiles }>();
const identity = (b: Buffer): Buffer => b;
const definition: ServiceDefinition = {
  connect: {
    path: '/fleet.v1.AgentService/Connect',
    requestStream: true,
    responseStream: true,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
    originalName: 'connect',
  },
};
let frames = 0;
let bytes = 0;
const welcome = encodeHubMessage({ body: { $case: 'welcome', value: { epoch: 0, seq: 0, hub_id: 'raw-sink', heartbeat_interval_ms: 5000, role: 1 /* active */, snapshot_parts: false } } });
const server = new Server({ 'grpc.max_receive_message_length': 256 * 1024 * 1024 });
server.addService(definition, {
  connect: (call: ServerDuplexStream<Buffer, Buffer>) => {
    let first = true;
    call.on('data', (msg: Buffer) => {
      frames++;
      bytes += msg.length;
      if (first) {
        first = false;
        call.write(welcome);
        return;
      }
      if (msg[0] !== 0x12) return; // heartbeats and the like
      const { epoch, seq } = peekEpochSeq(msg);
      call.write(encodeHubMessage({ body: { $case: 'ack', value: { epoch, seq } } }));
    });
    call.on('end', () => call.end());
    call.on('error', () => undefined);
  },
});
const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync(args.listen, grpcServerCredentials(loadTls(args.tls, 'raw sink')), (err, p) => (err ? reject(err) : resolve(p))),
);
serve(
  {
    stats: () => ({ frames, bytes }),
    stop: () => {
      server.forceShutdown();
      setImmediate(() => process.exit(0));
      return {};
    },
  },
  { grpc: `127.0.0.1:${port}` },
);
