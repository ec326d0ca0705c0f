// Bytes read on each gRPC connection the hub accepted, by the peer name grpc-js gives its calls
// ("address:port"). An agent's heartbeats travel on the same stream as its deltas, so while one
// large message (a snapshot part) is still arriving no heartbeat can: a hub reading slowly (a
// hundred agents reconnecting at once, each with a snapshot) would end the stream as silent
// although the agent is sending, and the agent's reconnect would send the snapshot again. A
// connection whose byte count moved has been heard from.
import type { Socket } from 'node:net';

export class ConnectionActivity {
  private readonly sockets = new Map<string, Socket>();

  /** Follows an admitted connection until it closes. */
  track(socket: Socket): void {
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    this.sockets.set(peer, socket);
    socket.once('close', () => {
      if (this.sockets.get(peer) === socket) this.sockets.delete(peer);
    });
  }

  /** Bytes read so far on the connection a call came in on (grpc-js `call.getPeer()`). */
  bytesRead(peer: string): number | undefined {
    return this.sockets.get(peer)?.bytesRead;
  }

  get size(): number {
    return this.sockets.size;
  }
}
