// etcd3 builds its own grpc credentials: over TLS to an IP address it must not send that IP as
// the TLS server name (Node's DEP0123 warning on every hub with such an endpoint), and the
// server's certificate is still checked against the IP.
import { readFileSync } from 'node:fs';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { makePki } from '../../test/harness/pki.js';
import { etcdConfigSchema } from './config.js';
import { createEtcdClient } from './etcd-client.js';

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

describe('etcd client over TLS to an IP address', () => {
  it('sends no IP as server name (no DEP0123) and still completes a verified handshake', async () => {
    const pki = await makePki('etcd-client.test');
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }): void => void warnings.push(`${w.code ?? ''} ${w.message}`);
    process.on('warning', onWarning);
    // A TLS server in place of etcd: it records the handshake (and its SNI), then hangs up.
    const handshakes: (string | false | null)[] = [];
    const server = createServer({ cert: readFileSync(pki.hub.cert), key: readFileSync(pki.hub.key), ca: readFileSync(pki.ca), requestCert: true, ALPNProtocols: ['h2'] }, (socket: TLSSocket) => {
      handshakes.push(socket.servername);
      socket.destroy();
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const client = await createEtcdClient(etcdConfigSchema.parse({ endpoints: [`https://127.0.0.1:${port}`], tls: { ca: pki.ca, cert: pki.hub.cert, key: pki.hub.key }, call_timeout: '1s', dial_timeout: '1s' }));
    try {
      await client.get('probe').string().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 100)); // warnings are emitted on the next tick
    } finally {
      client.close();
      process.off('warning', onWarning);
    }
    expect(handshakes.length).toBeGreaterThan(0);
    expect(warnings.filter((w) => w.includes('DEP0123'))).toEqual([]);
    expect(handshakes[0]).toBe(false); // no SNI: the IP is not sent as a name
  });
});
