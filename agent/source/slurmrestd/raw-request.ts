// One HTTP/1.1 exchange straight on a socket, for the requests that stream big lists (/jobs,
// /nodes: ~25 MB per poll at 8,000 jobs on v0.0.38) over http:// or a unix socket. Node's http
// client gives every 64 KiB socket read a fresh Buffer and walks it through the HTTP parser and
// two Readable streams: about a fifth of the agent's CPU per poll. Here the socket reads into
// one buffer per request (net `onread`), response-reader.ts frames the answer, and the body
// goes straight to the sink. One connection per request (`connection: close`): no pool, and the
// end of the answer ends the exchange. https keeps Node's client (TLS needs its own stream).
import net from 'node:net';
import { SlurmResponseError, SlurmUnavailableError } from '../../../shared/errors/index.js';
import { ResponseReader } from './response-reader.js';
import type { BodySink, RestResponse } from './rest-exchange.js';

/** Socket reads land here; bigger than a kernel read of a loopback stream usually is. */
const READ_BYTES = 1 << 20;

export interface RawRequest {
  /** Where to connect: a unix socket path, or host and port. */
  target: { path: string } | { host: string; port: number };
  /** The Host header. */
  host: string;
  /** Endpoint URL for the answer (scheme, host and port only). */
  endpoint: string;
  method: string;
  path: string;
  headers: Record<string, string | number>;
  payload?: Buffer;
  /** `METHOD path on endpoint`, for messages. */
  what: string;
  timeoutMs: number;
  /** Cap of a body the sink declines (buffered). */
  maxBodyBytes: number;
  signal?: AbortSignal;
  sink: (status: number, contentType: string) => BodySink | undefined;
  /** Set when the failure is the endpoint's (unreachable, silent, cut off). */
  fault: { reason?: string };
  /** The error for "could not reach it / it dropped us before answering": the next endpoint is tried. */
  unreachable: (code: string) => Error;
  /** Error codes that mean unreachable. */
  connectErrors: ReadonlySet<string>;
}

export function rawRequest(req: RawRequest): Promise<RestResponse> {
  const { what, fault } = req;
  const lines = [`${req.method} ${req.path} HTTP/1.1`, `host: ${req.host}`];
  for (const [name, value] of Object.entries(req.headers)) lines.push(`${name}: ${value}`);
  lines.push('connection: close', '', '');
  const head = lines.join('\r\n');
  // A CR or LF in a header value or the path would split the request (never named: it may be the token).
  if (/[\r\n]/.test(lines.slice(0, -3).join(''))) return Promise.reject(new SlurmUnavailableError(`slurmrestd request ${what}: a header or the path holds a line break`));

  return new Promise<RestResponse>((resolve, reject) => {
    req.signal?.throwIfAborted();
    let settled = false;
    let status = 0;
    let contentType = '';
    let sink: BodySink | undefined;
    const chunks: Buffer[] = [];
    let size = 0;

    const finish = (err: Error | undefined, value?: RestResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err) reject(err);
      else resolve(value!);
    };
    const done = (): void =>
      finish(undefined, {
        status,
        contentType,
        text: sink ? '' : Buffer.concat(chunks, size).toString('utf8'),
        endpoint: req.endpoint,
        ...(sink ? { streamed: true } : {}),
      });
    const onAbort = (): void => finish(req.signal!.reason instanceof Error ? req.signal!.reason : new Error('aborted'));
    const timer = setTimeout(() => {
      fault.reason = `no answer within ${req.timeoutMs} ms`;
      finish(new SlurmUnavailableError(`slurmrestd did not answer ${what} within ${req.timeoutMs} ms`));
    }, req.timeoutMs);
    req.signal?.addEventListener('abort', onAbort, { once: true });

    const reader = new ResponseReader(
      what,
      (h) => {
        status = h.status;
        contentType = h.headers.get('content-type') ?? '';
        sink = req.sink(status, contentType);
      },
      (chunk) => {
        if (sink) {
          sink.write(chunk);
          return;
        }
        size += chunk.length;
        if (size > req.maxBodyBytes) throw new SlurmResponseError(`slurmrestd answer to ${what} is larger than ${req.maxBodyBytes} bytes`);
        chunks.push(Buffer.from(chunk));
      },
      req.method === 'HEAD',
    );
    const cutOff = (): void => {
      fault.reason = `answer cut off after ${reader.bodyBytes} bytes`;
      finish(new SlurmResponseError(`slurmrestd answer to ${what} was cut off after ${reader.bodyBytes} bytes`));
    };

    const socket = net.connect({
      ...req.target,
      onread: {
        buffer: Buffer.allocUnsafe(READ_BYTES),
        callback: (nread: number, buf: Uint8Array): boolean => {
          if (settled) return false;
          try {
            const bytes = buf as Buffer;
            if (reader.push(nread === bytes.length ? bytes : bytes.subarray(0, nread))) done();
          } catch (err) {
            finish(err instanceof Error ? err : new SlurmResponseError(`slurmrestd answer to ${what} could not be read`));
          }
          return !settled;
        },
      },
    });
    socket.on('end', () => {
      if (settled) return;
      if (reader.end()) done();
      // Closed before answering: as Node's client says, a reset (the next endpoint is tried).
      else if (!reader.headRead) {
        fault.reason = 'ECONNRESET';
        finish(req.unreachable('ECONNRESET'));
      } else cutOff();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (settled) return;
      const code = err.code ?? 'error';
      if (reader.headRead) return cutOff();
      fault.reason = code;
      if (req.connectErrors.has(code)) finish(req.unreachable(code));
      else finish(new SlurmUnavailableError(`slurmrestd request ${what} failed (${code})`));
    });
    socket.on('close', () => {
      if (settled) return;
      if (reader.headRead) return cutOff();
      fault.reason = 'ECONNRESET';
      finish(req.unreachable('ECONNRESET'));
    });
    socket.write(head);
    if (req.payload) socket.write(req.payload);
  });
}
