// Open watch streams of a hub, as a client holds them: SSE (GET /api/v1/watch) and gRPC Watch,
// with a client certificate or a bearer credential (a session, an API token) or the dashboard's
// cookie. Each says what it received and when it ended, for tests that end or cut watches.
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { FleetServiceClient } from '../../generated/fleet/v1/fleet.js';
import { grpcClientCredentials, type TlsFiles } from '../../shared/tls/index.js';
import type { HubChild } from './hub-child.js';

/** Who opens a watch: a client certificate, or headers (authorization, cookie...). */
export type WatchCaller = { cert: TlsFiles } | { headers: Record<string, string> };

export interface OpenWatch {
  /** What arrived so far (SSE: the raw stream text). */
  text: () => string;
  /** The HTTP status (SSE; 0 before it arrived). */
  status: () => number;
  /** When the stream ended (0: open). */
  ended: () => number;
  /** The gRPC error that ended it. */
  error: () => ServiceError | undefined;
  close: () => void;
}

/** GET /api/v1/watch, read as it comes (or paused: `paused` reads nothing, so the hub's queue for it grows), from `localAddress` when given. */
export function sseWatch(hub: HubChild, ca: string, who: WatchCaller, opts: { paused?: boolean; path?: string; localAddress?: string } = {}): OpenWatch {
  let text = '';
  let status = 0;
  let ended = 0;
  const tls = 'cert' in who ? { cert: readFileSync(who.cert.cert), key: readFileSync(who.cert.key) } : {};
  const headers = 'headers' in who ? who.headers : {};
  const req = request(`${hub.httpUrl}${opts.path ?? '/api/v1/watch'}`, { ca: readFileSync(ca), ...tls, headers, agent: false, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) }, (res) => {
    status = res.statusCode ?? 0;
    res.on('close', () => (ended ||= Date.now()));
    if (opts.paused) {
      // Reads the head only: the body stays in the socket, so the hub's writes back up.
      res.pause();
      return;
    }
    res.on('data', (c: Buffer) => (text += c.toString()));
  });
  req.on('error', () => (ended ||= Date.now()));
  req.end();
  return { text: () => text, status: () => status, ended: () => ended, error: () => undefined, close: () => req.destroy() };
}

/**
 * The gRPC Watch of FleetService. gRPC is mutual TLS for every caller: a bearer rides on a client
 * certificate, which it overrides. `paused`: the client reads no message (grpc-js then stops
 * taking the stream's data, so the hub's writes back up), over a connection of its own as a
 * separate client's would be.
 */
export function grpcWatch(hub: HubChild, ca: string, who: { cert: TlsFiles; bearer?: string }, opts: { paused?: boolean } = {}): OpenWatch {
  const creds = grpcClientCredentials({ ca: readFileSync(ca), cert: readFileSync(who.cert.cert), key: readFileSync(who.cert.key) });
  const client = new FleetServiceClient(hub.grpcAddress, creds, opts.paused ? { 'grpc.use_local_subchannel_pool': 1 } : {});
  const metadata = new Metadata();
  if (who.bearer) metadata.set('authorization', `Bearer ${who.bearer}`);
  const stream = client.watch({ cluster: '', kinds: '', since: 0 }, metadata);
  let ended = 0;
  let error: ServiceError | undefined;
  let received = 0;
  if (!opts.paused) stream.on('data', () => received++);
  // Paused: ask for messages once and take none. grpc-js then fills its 16-message buffer and
  // pauses the HTTP/2 stream, so the hub's writes back up. A stream nobody ever asked a message
  // of is not paused: grpc-js reads it on into a buffer of its own without bound, and the client
  // is a reader as fast as this process lets it be (the hub rightly does not cut it).
  else stream.on('readable', () => undefined);
  stream.on('error', (err: ServiceError) => {
    error = err;
    ended ||= Date.now();
  });
  stream.on('end', () => (ended ||= Date.now()));
  return { text: () => `${received} messages`, status: () => 0, ended: () => ended, error: () => error, close: () => (stream.cancel(), client.close()) };
}

