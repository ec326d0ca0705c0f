// grpc-js reports a TLS failure to etcd as "14 UNAVAILABLE: No connection established", the
// same as a member that is down. When etcd does not answer over https, one plain TLS handshake
// with the hub's own CA, certificate and key tells the two apart, so a refused client
// certificate (or a server certificate that does not chain to etcd.tls.ca) is named at start.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { connect } from 'node:tls';
import type { EtcdConfig } from './config.js';

/** Why TLS with the first https endpoint fails, or undefined when it works (or cannot be tried). */
export async function etcdTlsProblem(config: EtcdConfig, timeoutMs = 2_000): Promise<string | undefined> {
  const endpoint = config.endpoints.find((e) => e.startsWith('https://'));
  if (!endpoint || !config.tls) return undefined;
  const url = new URL(endpoint);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve) => {
    const socket = connect({
      host,
      port: Number(url.port || 2379),
      ...(isIP(host) ? {} : { servername: host }),
      ca: readFileSync(config.tls!.ca),
      cert: readFileSync(config.tls!.cert),
      key: readFileSync(config.tls!.key),
      ALPNProtocols: ['h2'],
    });
    let settled = false;
    const done = (why: string | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(why);
    };
    // Down or slow: not a TLS problem (the caller says "unreachable").
    const timer = setTimeout(() => done(undefined), timeoutMs);
    // Only what TLS itself says is a refusal; a host that is down, unknown, unreachable or resets
    // the connection is "unreachable" (a hub with the group's copy then starts degraded).
    socket.on('error', (err: NodeJS.ErrnoException) => done(isTlsError(err) ? `TLS with ${endpoint} failed: ${err.message}` : undefined));
    // TLS 1.3: a refused client certificate arrives as an alert after the handshake; wait for it.
    let handshaken = false;
    socket.on('secureConnect', () => {
      handshaken = true;
      setTimeout(() => done(undefined), 300);
    });
    socket.on('close', () => done(handshaken ? `${endpoint} closed the TLS connection after the handshake (client certificate refused?)` : undefined));
  });
}

/** Node's and OpenSSL's TLS failures (certificate, alert, protocol), not the network's. */
export function isTlsError(err: NodeJS.ErrnoException): boolean {
  const code = err.code ?? '';
  return /^ERR_(SSL|TLS)_/.test(code) || /CERT|UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO|HOSTNAME_MISMATCH/.test(code) || /SSL routines|alert/i.test(code ? '' : err.message);
}
