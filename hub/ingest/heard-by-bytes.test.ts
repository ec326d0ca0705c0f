// An agent sending one large message is not silent: its heartbeats wait behind the message on
// the same stream, so the hub counts bytes arriving on the agent's connection as hearing it
// (hub/limits/connection-activity.ts). Served as the hub serves it: the hub's own listener
// (listenGrpc, which tracks the connections) with mutual TLS, and a TCP relay that passes the
// agent's bytes at 256 KiB/s, like a hub reading a hundred snapshots at once.
import { mkdtempSync } from 'node:fs';
import { createServer, connect, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server, type ServerDuplexStream } from '@grpc/grpc-js';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AgentServiceClient, type AgentMessage, type HubMessage } from '../../generated/fleet/v1/agent.js';
import { silentLogger } from '../../shared/logging/index.js';
import { grpcClientCredentials, grpcServerCredentials, initCa, issueCertificate, loadTls, type TlsFiles } from '../../shared/tls/index.js';
import { CommandRouter } from '../commands/index.js';
import { FleetState } from '../fleet/index.js';
import { ConnectionLimiter, listenGrpc } from '../limits/index.js';
import { HubPipeline } from '../pipeline.js';
import { IngestRegistry } from './index.js';

const HEARTBEAT_MS = 200; // silent after 3 beats: 600 ms
const RATE = 256 * 1024; // bytes a second through the relay
const closers: (() => void)[] = [];
let caDir: string;

beforeAll(async () => {
  caDir = mkdtempSync(join(tmpdir(), 'heard-ca-'));
  await initCa(caDir, { trustDomain: 'heard.fleet' });
});
afterEach(() => {
  for (const close of closers.splice(0).reverse()) close();
});

async function issue(role: 'agent' | 'hub', name: string, cluster?: string): Promise<TlsFiles> {
  const out = await issueCertificate(caDir, { role, name, cluster });
  return { ca: join(caDir, 'ca.pem'), cert: out.cert, key: out.key };
}

/** Forwards to `port`; what the client sends goes on at RATE bytes a second. */
async function slowRelay(port: number): Promise<number> {
  const relay: NetServer = createServer((from: Socket) => {
    const to = connect({ host: '127.0.0.1', port });
    const sockets = [from, to];
    for (const s of sockets) s.on('error', () => sockets.forEach((x) => x.destroy()));
    to.pipe(from);
    from.on('data', (chunk: Buffer) => {
      from.pause();
      let at = 0;
      const step = (): void => {
        if (to.destroyed) return;
        const slice = chunk.subarray(at, at + RATE / 20);
        at += slice.length;
        to.write(slice);
        if (at < chunk.length) setTimeout(step, 50);
        else from.resume();
      };
      step();
    });
    from.on('close', () => to.destroy());
    to.on('close', () => from.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  closers.push(() => relay.close());
  return (relay.address() as { port: number }).port;
}

async function hub(): Promise<{ port: number; ingest: IngestRegistry; commands: CommandRouter }> {
  const state = new FleetState();
  const commands = new CommandRouter({ timeoutMs: 1000 });
  const ingest = new IngestRegistry({
    path: new HubPipeline({ state }),
    state,
    commands,
    logger: silentLogger(),
    hubId: 'heard-hub',
    heartbeatMs: HEARTBEAT_MS,
    audit: { record: async () => ({}) as never },
  });
  // The hub's own setting lets agents ping every 5 s; the test's client pings every 100 ms.
  const server = new Server({ 'grpc.max_receive_message_length': 8 << 20, 'grpc.http2.min_ping_interval_without_data_ms': 10 });
  server.addService(ingest.service, { connect: (call: ServerDuplexStream<AgentMessage, HubMessage>) => ingest.handle(call) });
  const limiter = new ConnectionLimiter({ perSource: 10, total: 10, trusted: [] });
  const listener = await listenGrpc(server, grpcServerCredentials(loadTls(await issue('hub', 'hub'), 'hub')), '127.0.0.1', 0, limiter, ingest.connections);
  closers.push(() => (listener.stop(), server.forceShutdown()));
  return { port: listener.port, ingest, commands };
}

describe('an agent is heard by the bytes it sends', () => {
  it('a message that takes longer than 3 heartbeats to arrive keeps the stream; silence after it ends it', async () => {
    const { port, ingest, commands } = await hub();
    const relayPort = await slowRelay(port);
    const client = new AgentServiceClient(`127.0.0.1:${relayPort}`, grpcClientCredentials(loadTls(await issue('agent', 'head1', 'heard-a'), 'agent')), {
      'grpc.max_send_message_length': 8 << 20,
      // Keep-alive pings reach the hub's socket as bytes too: they must not count as hearing the agent.
      'grpc.keepalive_time_ms': 100,
      'grpc.keepalive_timeout_ms': 5_000,
    });
    const call = client.connect();
    closers.push(() => (call.cancel(), client.close()));
    let ended: { at: number; details: string } | undefined;
    const endedEarly = new Promise<void>((resolve) =>
      call.on('error', (err: { details: string }) => {
        ended = { at: Date.now(), details: err.details };
        resolve();
      }),
    );
    const welcomed = new Promise<void>((resolve) => call.on('data', (m: HubMessage) => m.body?.$case === 'welcome' && resolve()));
    call.write({ body: { $case: 'hello', value: { cluster: 'heard-a', agent_name: 'head1', epoch: 1, last_seq: 0, agent_version: 'test', slurm_api_version: 'v0.0.41' } } });
    await welcomed;

    // 1 MiB at 256 KiB/s: about 4 s on the wire, past 3 heartbeats (600 ms) several times over.
    const big = 'x'.repeat(1 << 20);
    const sent = Date.now();
    // The hub hands a command result to its command router once the whole message is in.
    const resolved = new Promise<void>((resolve) => {
      const original = commands.resolve.bind(commands);
      commands.resolve = (result) => (resolve(), original(result));
    });
    call.write({ body: { $case: 'command_result', value: { id: 'c-1', ok: true, message: big, code: '', via: '', history: [], job_id: '', associations: '' } } as never });
    await Promise.race([resolved, endedEarly]);
    expect(ended, `the stream ended while the message arrived: ${ended?.details}`).toBeUndefined();
    const took = Date.now() - sent;
    expect(took).toBeGreaterThan(3 * HEARTBEAT_MS * 2); // the message really was slow
    expect(ingest.active.has('heard-a')).toBe(true);

    // Nothing more from the agent but its connection's pings (no heartbeats from this client): now it is silent.
    const quietSince = Date.now();
    while (!ended && Date.now() - quietSince < 20_000) await new Promise((r) => setTimeout(r, 50));
    expect(ended?.details).toBe('SF_INGEST_AGENT_SILENT: no message from the agent for 3 heartbeats');
  }, 60_000);
});
