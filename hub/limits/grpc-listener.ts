// The gRPC listener behind the connection caps (connection-limits.ts), as the HTTPS listener is.
// grpc-js binds its own sockets and exposes none of them, so the hub listens itself and hands
// each admitted connection to grpc-js through its connection injector
// (Server.createConnectionInjector): a connection over a cap is closed before its TLS handshake
// and before grpc-js sees it. Admitted connections are followed by `activity`
// (connection-activity.ts) when given.
import { createServer } from 'node:net';
import type { Server, ServerCredentials } from '@grpc/grpc-js';
import type { ConnectionActivity } from './connection-activity.js';
import type { ConnectionLimiter } from './connection-limits.js';

export interface GrpcListener {
  /** The port bound (the configured one, or the one the system chose for port 0). */
  port: number;
  /** Stops taking connections (open ones end with the gRPC server's shutdown). */
  stop(): void;
}

export async function listenGrpc(server: Server, credentials: ServerCredentials, host: string, port: number, limiter: ConnectionLimiter, activity?: ConnectionActivity): Promise<GrpcListener> {
  const injector = server.createConnectionInjector(credentials);
  const listener = createServer((socket) => {
    if (!limiter.admit(socket)) return;
    activity?.track(socket);
    injector.injectConnection(socket);
  });
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(port, host, () => {
      listener.off('error', reject);
      resolve();
    });
  });
  const address = listener.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    stop: () => void listener.close(),
  };
}
