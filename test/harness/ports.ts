// Free loopback ports for the hubs, services and proxies of tests, benchmarks and chaos.
import { createServer } from 'node:net';

/** A free loopback TCP port (the OS picks; closed again before returning). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** n distinct free ports (the OS may hand the same one out twice in a row). */
export async function freePorts(n: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < n) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  return ports;
}

// hub/audit/ship/shipper.test.ts imports waitFor from here (outside this branch's files).
export { waitFor } from './wait.js';
