// Free loopback ports for the hubs, services and proxies of tests, benchmarks and chaos.
//
// A port is picked here, closed, and bound later by another process: in between, nothing else may
// take it. Ports from the kernel's ephemeral range (what listen(0) hands out) are also what every
// outgoing connection on the machine gets as its local port, and with hundreds of connections a
// second during a test run one did take a hub's port before the hub bound it (EADDRINUSE, CI of
// stop 24). So the ports come from below that range, at random, checked free by binding, and
// above the fixed ports of the project's own services (Slurm 17000+, Mosquitto 21883, etcd
// 2379x/2380x, Redis 26379...: scripts/slurm and scripts/services), which may start later.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const LOWEST = 27_000;
const handedOut = new Set<number>();

/** The first port of the kernel's ephemeral range (net.ipv4.ip_local_port_range). */
function ephemeralStart(): number {
  try {
    const first = Number.parseInt(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0], 10);
    return Number.isInteger(first) && first > LOWEST + 2_000 ? first : 32_768;
  } catch {
    return 32_768;
  }
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** A free loopback TCP port outside the ephemeral range (checked by binding it; closed again before returning). */
export async function freePort(): Promise<number> {
  const top = ephemeralStart();
  for (let tries = 0; tries < 200; tries++) {
    const port = LOWEST + Math.floor(Math.random() * (top - LOWEST));
    if (handedOut.has(port)) continue;
    if (await bindable(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free loopback port between ${LOWEST} and ${top - 1} after 200 tries`);
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
