// A caller over its tenant's API rate limit is answered at once (429 with Retry-After), and then
// the hub does not read that connection again until the Retry-After has passed. A client that
// ignores the header and sends again at once on its kept-alive connection (a flood) waits in its
// own socket's buffer, not in the hub's one event loop in front of other tenants' requests: each
// 429 cost the hub about 0.1 ms of CPU, and 40 looping connections kept the loop busy.
//
// Node's HTTP server parses straight from the socket's handle (no 'data' events), so
// socket.pause() alone does not stop it. The parser is paused with it, as the server itself does
// when a client does not read its answers (_http_server.js: socket._paused, parser.pause(),
// undone on 'drain'); checked on Node 20 and 26. A connection that closes meanwhile is let go.
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** At most this long, whatever the Retry-After (a bucket's is a second or two). */
export const MAX_HOLD_MS = 5_000;

interface HttpSocket extends Socket {
  _paused?: boolean;
  parser?: { pause(): void; resume(): void } | null;
}

/**
 * Stops reading the connection of `res` for `ms` (at most MAX_HOLD_MS) once this answer has been
 * written. The caller does not hold a connection that closes after the answer (a body left unread).
 */
export function holdConnection(res: ServerResponse, ms: number): void {
  const socket = res.socket as HttpSocket | null;
  // No socket: an in-process request (inject), nothing to hold.
  if (!socket || typeof socket.pause !== 'function' || ms <= 0) return;
  const hold = Math.min(ms, MAX_HOLD_MS);
  res.once('finish', () => {
    if (socket.destroyed || socket._paused) return;
    socket._paused = true;
    socket.pause();
    socket.parser?.pause();
    const timer = setTimeout(() => {
      socket.off('close', letGo);
      if (socket.destroyed || !socket._paused) return;
      socket._paused = false;
      socket.parser?.resume();
      socket.resume();
    }, hold);
    const letGo = (): void => clearTimeout(timer);
    socket.once('close', letGo);
  });
}
