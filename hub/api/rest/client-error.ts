// Requests Node's HTTP parser refuses before any route sees them (oversize headers, garbage):
// answered with problem+json, then the connection is closed gracefully. Fastify's default
// destroys the socket right after writing, which on TLS drops the answer unsent.
import type { Duplex } from 'node:stream';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { BadRequestError, FleetError, PROBLEM_CONTENT_TYPE, toProblem } from '../../../shared/errors/index.js';

/** More than Node's 16 KiB of request headers (long cookies, a huge token). */
export class HeadersTooLargeError extends FleetError {
  constructor() {
    super('SF_API_HEADERS_TOO_LARGE', 'request headers too large: at most 16 KiB of headers in all', 431, GrpcStatus.INVALID_ARGUMENT);
  }
}

/** A request body over the route's limit (http.max_body, or a route's own, e.g. PagerDuty webhooks' 64 KiB). */
export class PayloadTooLargeError extends FleetError {
  constructor(limit?: number) {
    super('SF_API_PAYLOAD_TOO_LARGE', `request body too large${limit ? `: at most ${limit} bytes here` : ''}`, 413, GrpcStatus.INVALID_ARGUMENT);
  }
}

/** The request's headers did not all arrive within the server's request timeout. */
export class RequestTimeoutError extends FleetError {
  constructor() {
    super('SF_API_REQUEST_TIMEOUT', 'the request did not arrive in time', 408, GrpcStatus.DEADLINE_EXCEEDED);
  }
}

/** What was refused, for the log or audit (no header values: they may hold credentials). */
export interface RefusedRequest {
  code: string;
  status: number;
  remote_address?: string;
}

/** `onRefused` (log, audit) runs first; the answer goes out once it is done (an audit record before the answer). */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex, onRefused?: (r: RefusedRequest, detail: string) => void | Promise<void>): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const error =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? new HeadersTooLargeError()
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new RequestTimeoutError()
        : new BadRequestError('malformed HTTP request');
  const answer = (): void => {
    const body = JSON.stringify(toProblem(error));
    const head = `HTTP/1.1 ${error.httpStatus} ${error.httpStatus === 431 ? 'Request Header Fields Too Large' : error.httpStatus === 408 ? 'Request Timeout' : 'Bad Request'}`;
    if (socket.writable) socket.end(`${head}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    // A client that never reads its answer must not hold the connection.
    setTimeout(() => socket.destroy(), 2_000).unref();
  };
  const refused = { code: error.code, status: error.httpStatus, remote_address: (socket as Duplex & { remoteAddress?: string }).remoteAddress };
  void Promise.resolve()
    .then(() => onRefused?.(refused, error.message))
    .catch(() => undefined)
    .finally(answer);
}
