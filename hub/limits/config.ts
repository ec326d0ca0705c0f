// The hub's `http:` and `limits:` sections: what a caller can make the hub spend before and after
// the gate lets it in (issue 12). Every default is in README.md ("Limits"); each key can be changed.
import { z } from 'zod';
import { byteSize, duration } from '../../shared/config/index.js';

const cidr = z
  .string()
  .regex(/^[0-9a-fA-F.:]+(\/\d{1,3})?$/, 'an address or CIDR, e.g. 10.0.0.0/8 or 2001:db8::/32')
  .describe('An address or CIDR block.');
const origin = z
  .string()
  .regex(/^https?:\/\/[^/\s?#]+$/, 'an origin: scheme://host[:port], no path')
  .describe('An origin: scheme, host and port, as browsers send it in Origin.');

export const httpConfigSchema = z
  .object({
    allowed_origins: z
      .array(origin)
      .default([])
      .describe('Origins whose pages may make cookie-authenticated changes (the dashboard\'s own origin is always allowed). A cookie mutation without Origin, or from another origin, is refused.'),
    trusted_proxies: z.array(cidr).default([]).describe('Reverse proxies whose X-Forwarded-For is believed (for connection limits and the audit record\'s source address). Empty: the peer address is the source.'),
    trusted_sources: z.array(cidr).default([]).describe('Sources exempt from per-source caps (login nodes, bastions: many users behind one address).'),
    header_timeout: duration.default(10_000).describe('Time a client has to send the request headers.'),
    body_timeout: duration.default(30_000).describe('Time a client has to send the whole request, body included.'),
    keep_alive_idle: duration.default(60_000).describe('An idle keep-alive connection is closed after this.'),
    max_connections_per_source: z.number().int().min(1).default(256).describe('Open connections per source address (outside trusted_sources); more are closed at once.'),
    max_connections: z.number().int().min(1).default(10_000).describe('Open connections in all; more are closed at once.'),
    max_body: byteSize.default(64 * 1024).describe('Largest request body of a REST route (a few routes ask for less).'),
    max_query: byteSize.default(4 * 1024).describe('Longest query string of a REST request.'),
    unauthorized_in_flight: byteSize
      .default(64 * 1024 * 1024)
      .describe('Request bodies of callers not yet authorized (anonymous logins, SSO posts) read at once, in all; beyond it such a request is answered 503 SF_API_BUSY before its body is read.'),
  })
  .strict()
  .prefault({});

export const limitsConfigSchema = z
  .object({
    agent_message: byteSize.default(16 * 1024 * 1024).describe('Largest agent-stream message (a snapshot part, a delta); an agent splits bigger snapshots.'),
    api_message: byteSize.default(64 * 1024).describe('Largest gRPC FleetService request.'),
    grpc_max_connections_per_source: z.number().int().min(1).default(256).describe('Open connections to the gRPC listener (agents and the gRPC API) per source address, outside http.trusted_sources; more are closed at once, before the TLS handshake.'),
    grpc_max_connections: z.number().int().min(1).default(10_000).describe('Open connections to the gRPC listener in all; more are closed at once.'),
    api_string: z.number().int().min(64).max(65_536).default(1024).describe('Longest string field of a gRPC FleetService request, in UTF-8 bytes (names, ids, reasons, cursors).'),
    watch_buffer: byteSize.default(256 * 1024).describe('Bytes queued for one watcher (SSE or gRPC Watch) that its transport has not taken; a watcher over it whose backlog does not shrink within watch_stall is ended, resumable from its last event id (one large change may go over it: a watcher that reads drains it).'),
    watch_buffer_total: byteSize.default(64 * 1024 * 1024).describe('Bytes queued for all watchers (checked every watch_stall); over it the watcher with the most queued is ended first.'),
    watch_stall: duration.default(2_000).describe('How long a watcher over watch_buffer may go without its backlog shrinking before it is ended; also how often the watch buffers are checked.'),
    watches_per_caller: z.number().int().min(1).default(8).describe('Concurrent watches per caller (user, token or certificate).'),
    watch_replay: z.number().int().min(0).default(10_000).describe('Most events replayed to a watcher that resumes with Last-Event-ID; an older id gets a reset. The hub keeps this many events (each with its object) and no more.'),
    session_recheck: duration.default(2_000).describe('How often open watches re-check their credential and roles (revocation, logout, expiry, role changes end or narrow them).'),
    heap_growth: z
      .number()
      .int()
      .min(0)
      .max(400)
      .default(0)
      .describe("How far the hub's JavaScript heap may grow past what is live before a full garbage collection, in percent (V8's --heap-growing-percent; like Go's GOGC). 0 (the default) leaves it to V8, which lets the heap grow to several times what is live under fast allocation; 100 bounds a burst of garbage (e.g. many slow watchers) at about 11 % more ingest CPU."),
    heap_optimize_for_size: z
      .boolean()
      .default(false)
      .describe("V8's --optimize-for-size for the hub (set in-process): the old generation grows to at most 1.3 times what is live and pages a fifth free are compacted. In the soak the leader then held about 15-20 MiB less free heap; its extra CPU is not measured yet, so it is off by default."),
  })
  .strict()
  .prefault({});

export type HttpConfig = z.infer<typeof httpConfigSchema>;
export type LimitsConfig = z.infer<typeof limitsConfigSchema>;
