// The start's TLS probe names only TLS's own refusals; a network fault is "unreachable", so a hub
// holding the group's copy still starts degraded in an etcd outage.
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { makePki } from '../../test/harness/pki.js';
import { etcdConfigSchema } from './config.js';
import { etcdTlsProblem, isTlsError } from './etcd-tls-probe.js';

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

describe('etcd TLS probe', () => {
  it('counts certificate and TLS-protocol errors, not resets, unknown hosts or cut handshakes', () => {
    const e = (code: string | undefined, message = 'x') => Object.assign(new Error(message), code ? { code } : {}) as NodeJS.ErrnoException;
    expect(isTlsError(e('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'))).toBe(true);
    expect(isTlsError(e('UNABLE_TO_VERIFY_LEAF_SIGNATURE'))).toBe(true);
    expect(isTlsError(e('DEPTH_ZERO_SELF_SIGNED_CERT'))).toBe(true);
    expect(isTlsError(e('ERR_TLS_CERT_ALTNAME_INVALID'))).toBe(true);
    for (const code of ['ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']) expect(isTlsError(e(code)), code).toBe(false);
    expect(isTlsError(e(undefined, 'Client network socket disconnected before secure TLS connection was established'))).toBe(false);
  });

  it('a peer that drops the connection before any handshake is unreachable, not a refusal', async () => {
    const pki = await makePki('probe.test');
    const server = createServer((socket) => socket.destroy());
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const config = etcdConfigSchema.parse({ endpoints: [`https://127.0.0.1:${port}`], tls: { ca: pki.ca, cert: pki.hub.cert, key: pki.hub.key } });
    expect(await etcdTlsProblem(config, 2_000)).toBeUndefined();
    // An unknown host name is a network fault too.
    expect(await etcdTlsProblem(etcdConfigSchema.parse({ endpoints: ['https://etcd.invalid:2379'], tls: { ca: pki.ca, cert: pki.hub.cert, key: pki.hub.key } }), 2_000)).toBeUndefined();
  });
});
