// The CLI's wait for the hub: --timeout sets it, and a hub that never answers gets a message that
// says how long was waited and how to wait longer.
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HubClient } from './hub-client.js';

let server: Server | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A "hub" that accepts the connection and never says a word (not even TLS). */
async function silentHub(): Promise<string> {
  server = createServer((s) => sockets.push(s));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return `https://127.0.0.1:${port}`;
}

describe('hub client timeout', () => {
  it('gives up after the timeout it was given, saying how long and naming --timeout', async () => {
    const hub = await silentHub();
    const client = new HubClient({ hub }, { timeoutMs: 300 });
    await expect(client.json('GET', '/api/v1/reports/usage')).rejects.toThrow(`the hub at ${hub} did not answer within 300 ms (a longer wait: --timeout, e.g. --timeout 10m)`);
  });
});
