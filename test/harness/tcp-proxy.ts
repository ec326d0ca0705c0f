// A TCP proxy a test or chaos scenario can break: cut() resets every connection, blackhole()
// keeps them open but drops every byte both ways (a network that silently stopped), restore()
// heals it. It counts the bytes it carries (the wire benchmark: what an agent's gRPC stream
// really puts on the wire, TLS records, HTTP/2 frames, acks and heartbeats included).
import { createServer, connect, type Server, type Socket } from 'node:net';

export class TcpProxy {
  private server?: Server;
  private readonly pairs = new Set<[Socket, Socket]>();
  private mode: 'pass' | 'blackhole' | 'refuse' = 'pass';
  private up = 0;
  private down = 0;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(port = 0): Promise<this> {
    this.server = createServer((client) => {
      if (this.mode === 'refuse') {
        client.destroy();
        return;
      }
      const upstream = connect(this.targetPort, this.targetHost);
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      client.on('data', (chunk: Buffer) => {
        this.up += chunk.length;
        if (this.mode === 'pass') upstream.write(chunk);
      });
      upstream.on('data', (chunk: Buffer) => {
        this.down += chunk.length;
        if (this.mode === 'pass') client.write(chunk);
      });
      const close = (): void => {
        client.destroy();
        upstream.destroy();
        this.pairs.delete(pair);
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server!.address() as { port: number }).port;
    return this;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Client connections open through the proxy now. */
  get connections(): number {
    return this.pairs.size;
  }

  /** Bytes received from clients (up) and from the target (down) since the start or the last resetBytes(). */
  bytes(): { up: number; down: number } {
    return { up: this.up, down: this.down };
  }

  resetBytes(): void {
    this.up = 0;
    this.down = 0;
  }

  blackhole(): void {
    this.mode = 'blackhole';
  }

  cut(): void {
    this.mode = 'refuse';
    for (const [a, b] of this.pairs) {
      a.resetAndDestroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  restore(): void {
    this.mode = 'pass';
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
