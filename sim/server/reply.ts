// The simulator's HTTP wire: a route answers a Reply (JSON, plain text or a bare 304) and only
// sendReply writes it, applying the fault drawn for the request (a truncated body). Request bodies
// are read here too, capped at 1 MiB, so both route sets refuse oversize or broken JSON alike.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaultDecision } from './faults.js';

/** A JSON body is a string or, for large lists, chunks streamed as they render. */
export type Reply =
  | { status: number; json: string | Iterable<string> }
  | { status: number; text: string }
  | { status: 304 };

/** For the control API and authentication refusals, which faults never touch. */
export const NO_FAULT: FaultDecision = { drop: false, latencyMs: 0, errorStatus: 0, truncate: false };

const MAX_BODY = 1024 * 1024;

/** A request the simulator refuses before any route sees it (body too large, not JSON). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function sendReply(res: ServerResponse, reply: Reply, fault: FaultDecision): Promise<void> {
  if ('text' in reply) {
    res.writeHead(reply.status, { 'Content-Type': 'text/plain', Connection: 'close' });
    res.end(reply.text);
    return;
  }
  if (!('json' in reply)) {
    // 304: no body, no content type, as slurmrestd.
    res.writeHead(304);
    res.end();
    return;
  }
  if (typeof reply.json === 'string') {
    const buf = Buffer.from(reply.json);
    res.writeHead(reply.status, { 'Content-Type': 'application/json', 'Content-Length': buf.length });
    if (fault.truncate) return cut(res, buf.subarray(0, Math.max(1, Math.floor(buf.length / 2))));
    res.end(buf);
    return;
  }
  res.writeHead(reply.status, { 'Content-Type': 'application/json' });
  for (const chunk of reply.json) {
    if (res.destroyed) return;
    if (fault.truncate) return cut(res, Buffer.from(chunk.slice(0, Math.max(1, Math.floor(chunk.length / 2)))));
    if (!res.write(chunk)) await drained(res);
  }
  res.end();
}

/** Answers a request that threw: its HttpError status, else 500; a reply already under way is cut. */
export function sendFailure(res: ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const status = err instanceof HttpError ? err.status : 500;
  const message = err instanceof HttpError ? err.message : 'internal simulator error';
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ error: { message } }));
}

/** The request's JSON body, undefined when empty; throws HttpError 413 or 400. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new HttpError(413, 'request body over 1 MiB');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'request body is not valid JSON');
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Waits for 'drain' (or 'close') without leaving listeners behind. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function cut(res: ServerResponse, part: Buffer): void {
  res.write(part, () => res.destroy());
}
