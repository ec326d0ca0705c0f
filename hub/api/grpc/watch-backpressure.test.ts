// What a gRPC Watch holds for a client that stops reading counts toward its budget (issue 12):
// a real grpc-js server and clients over real HTTP/2. The hub hands grpc-js a message only while
// call.write() says "more", and counts each one until grpc-js has handed it to the socket (its
// write callback), so what sits in grpc-js's and the http2 stream's buffers is in the watcher's
// backlog: of what was sent to a paused client, all but what the client itself took (its HTTP/2
// window, 64 KiB) is counted, and the watcher is cut with its reason. A client that never asked
// for a message is not paused at all (grpc-js reads on into a buffer of its own).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata, Server, ServerCredentials, type ClientReadableStream } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetServiceClient, FleetServiceService, type WatchEvent } from '../../../generated/fleet/v1/fleet.js';
import { jobDelta, testJob } from '../../../shared/delta/testdata/fleet-fixtures.js';
import { CommandRouter } from '../../commands/index.js';
import { FleetState } from '../../fleet/index.js';
import { Authenticator, TokenStore } from '../../policy/index.js';
import { WatchBudget, WatchFeed } from '../../watch/index.js';
import { fleetService } from './fleet-service.js';

const KiB = 1024;
let server: Server;
let address: string;
let state: FleetState;
let budget: WatchBudget;
let token: string;
const ended: { caller: string; reason: string }[] = [];
const clients: FleetServiceClient[] = [];
let seq = 0;

beforeAll(async () => {
  const tokens = new TokenStore(mkdtempSync(join(tmpdir(), 'sfleet-watch-bp-')));
  token = tokens.create('watcher').token;
  state = new FleetState();
  const watch = new WatchFeed(state);
  // Checked only when the test says (budget.check()): the backlog is read between changes.
  budget = new WatchBudget({ perWatcher: 256 * KiB, total: 64 * 1024 * KiB, perCaller: 8, recheckMs: 600_000, stallMs: 600_000 }, (caller, err) => ended.push({ caller, reason: err.message }));
  server = new Server();
  server.addService(FleetServiceService, fleetService({ state, commands: new CommandRouter({ timeoutMs: 1_000 }), watch, authenticator: new Authenticator(tokens), watchBudget: budget }) as never);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  address = `127.0.0.1:${port}`;
});

afterAll(() => {
  for (const c of clients) c.close();
  budget.close();
  server.forceShutdown();
});

function openWatch(read: boolean | 'never-asked'): { stream: ClientReadableStream<WatchEvent>; received: () => number } {
  // A connection of its own, as a separate client's would be.
  const client = new FleetServiceClient(address, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  clients.push(client);
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  const stream = client.watch({ cluster: '', kinds: 'job', since: 0 }, metadata);
  let received = 0;
  if (read === true) stream.on('data', () => received++);
  // Paused: asks for messages once and takes none (grpc-js then fills its 16-message buffer and
  // pauses the HTTP/2 stream). A stream nobody ever asked a message of is not paused: grpc-js
  // reads it on into a buffer of its own, without bound (unpushedReadMessages).
  else if (read === false) stream.on('readable', () => undefined);
  stream.on('error', () => undefined);
  return { stream, received: () => received };
}

/** One change of `jobs` jobs of about 2 KB each: about jobs * 2 KB of watch messages. */
function change(jobs: number, tag: string): number {
  seq++;
  const list = Array.from({ length: jobs }, (_, i) => testJob(i + 1, { comment: `${tag} ${'c'.repeat(2_000)}` }));
  state.apply(jobDelta(list, { seq }));
  return list.reduce((n, j) => n + JSON.stringify(j).length, 0);
}

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('gRPC Watch backpressure (real grpc-js, a client that stops reading)', () => {
  it("counts what grpc-js and HTTP/2 hold for a paused client in its backlog, cuts it with the reason, and leaves a reader alone", async () => {
    const paused = openWatch(false);
    const reader = openWatch(true);
    await until('both watches open at the server', () => budget.watchers === 2);
    // About 1.2 MB in 12 changes, each let settle: the reader takes all, the paused client only its window.
    let sent = 0;
    for (let i = 0; i < 12; i++) {
      sent += change(50, `r${i}`);
      await until(`change ${i} read by the reader`, () => reader.received() === 50 * (i + 1));
    }
    await new Promise((r) => setTimeout(r, 200));
    // Only the paused watcher holds anything: what grpc-js, the http2 stream and the hub's queue hold for it.
    const held = budget.queuedTotal;
    expect(held).toBeGreaterThan(sent - 128 * KiB);
    expect(held).toBeLessThanOrEqual(sent + 50 * 12 * 64);
    // Over its 256 KiB and not shrinking by the next check: cut, with where to resume; the reader is not.
    budget.check();
    budget.check();
    expect(ended).toHaveLength(1);
    expect(ended[0].caller).toBe('token:watcher');
    expect(ended[0].reason).toMatch(/^the watcher read too slowly: \d+ bytes queued for it, over 262144 \(limits\.watch_buffer\), and its backlog did not shrink .*; resume from event \d+$/);
    expect(budget.watchers).toBe(1);
    expect(budget.queuedTotal).toBe(0);
    // The reader keeps its stream.
    change(50, 'after');
    await until('the reader reads on', () => reader.received() === 50 * 13);
    paused.stream.cancel();
    reader.stream.cancel();
    await until('the reader released', () => budget.watchers === 0);
  });

  // Why session 9's abuse test left 28 "paused" gRPC watchers uncut: its clients never asked for
  // a message, so grpc-js read their streams on (test/harness/watch-streams.ts now asks once).
  it('a client that never asked for a message is not paused: grpc-js takes the stream into its own buffer, the hub holds nothing for it and does not cut it', async () => {
    ended.length = 0;
    const neverAsked = openWatch('never-asked');
    const reader = openWatch(true);
    await until('both watches open at the server', () => budget.watchers === 2);
    for (let i = 0; i < 12; i++) {
      change(50, `n${i}`);
      await until(`change ${i} read by the reader`, () => reader.received() === 50 * (i + 1));
    }
    // Its backlog, read at each check, drains to nothing: grpc-js took every message.
    await until('the never-asked client took it all', () => (budget.check(), budget.queuedTotal === 0));
    budget.check();
    budget.check();
    expect(ended).toEqual([]);
    expect(budget.watchers).toBe(2);
    neverAsked.stream.cancel();
    reader.stream.cancel();
    await until('both released', () => budget.watchers === 0);
  });
});
