// A hub connection that is not even up (its SYN dropped by a broken network, here a listener that
// never answers the TLS handshake) is given up after hub.connect_timeout and tried again, instead
// of waiting the whole hello timeout (10 s) for a welcome that cannot come.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/logging/index.js';
import { loadTls } from '../../shared/tls/index.js';
import { makePki, waitFor } from '../../test/harness/index.js';
import { DeltaSpool } from '../spool/index.js';
import { HubStream } from './hub-stream.js';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A TCP listener that accepts and never says a word (a hub behind a network that drops its replies). */
async function silentListener(): Promise<{ port: number; accepted: () => number }> {
  const sockets: Socket[] = [];
  const server: Server = createServer((s) => sockets.push(s.on('error', () => undefined)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { port: (server.address() as { port: number }).port, accepted: () => sockets.length };
}

async function stream(port: number, connectTimeoutMs?: number): Promise<HubStream> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sfleet-connect-'));
  const pki = await makePki('connect.sfleet', { dir: path.join(dir, 'pki'), registerSecrets: false });
  const files = await pki.agent('c1', 'a1');
  const spool = DeltaSpool.open(path.join(dir, 'spool'), { cluster: 'c1', maxBytes: 1 << 20 }, { logger: silentLogger() });
  const s = new HubStream(
    { cluster: 'c1', agentName: 'a1', agentVersion: 'test', endpoints: [`127.0.0.1:${port}`], tls: () => loadTls(files, 'agent'), initialBackoffMs: 50, maxBackoffMs: 100, ...(connectTimeoutMs ? { connectTimeoutMs } : {}) },
    { logger: silentLogger(), spool, runCommand: () => Promise.reject(new Error('no commands here')), slurmApiVersion: () => 'v0.0.41' },
  );
  cleanups.push(async () => {
    await s.stop();
    spool.close();
    rmSync(dir, { recursive: true, force: true });
  });
  s.start();
  return s;
}

describe('HubStream connect timeout', () => {
  it('gives up a connection that is not up after hub.connect_timeout and dials again', async () => {
    const hub = await silentListener();
    await stream(hub.port, 300);
    await waitFor('two more connection attempts', () => hub.accepted() >= 3, 10_000, 50);
    expect(hub.accepted()).toBeGreaterThanOrEqual(3);
  });

  it('without it, waits for the welcome on the one connection (the 10 s hello timeout)', async () => {
    const hub = await silentListener();
    await stream(hub.port);
    await waitFor('the first connection', () => hub.accepted() >= 1, 10_000, 50);
    // Time enough for several 300 ms attempts had the timeout applied.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(hub.accepted()).toBe(1);
  });
});
