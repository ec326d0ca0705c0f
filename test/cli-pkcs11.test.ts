// The CLI with its key on a PKCS#11 token (SoftHSM 2 standing in for a smart card): the hub's
// HTTPS client signs the TLS handshake through OpenSSL's pkcs11 engine, and the server sees the
// fleet-CA client certificate whose key never left the token. A wrong PIN fails to connect.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HubClient } from '../cli/client/hub-client.js';
import { resolveConnection } from '../cli/client/connection.js';
import { makePki, type TestPki } from './harness/pki.js';

let pki: TestPki;
let server: Server;
let port: number;
let engine: string;
const saved = { ...process.env };

beforeAll(async () => {
  const [module, enginePath] = execFileSync('bash', ['scripts/services/softhsm.sh'], { encoding: 'utf8', timeout: 300_000 }).trim().split('\n');
  engine = enginePath!;
  pki = await makePki();
  const dir = mkdtempSync(join(tmpdir(), 'sfleet-softhsm-'));
  writeFileSync(join(dir, 'softhsm2.conf'), `directories.tokendir = ${dir}\n`);
  process.env.SOFTHSM2_CONF = join(dir, 'softhsm2.conf');
  process.env.PKCS11_MODULE_PATH = module;
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'card', '--pin', '1234', '--so-pin', '5678'], { env: process.env, stdio: 'ignore' });
  // The fleet-CA client key goes onto the token; the CLI gets only the token's URI.
  execFileSync('softhsm2-util', ['--import', pki.client.key, '--token', 'card', '--label', 'tester', '--id', '01', '--pin', '1234'], { env: process.env, stdio: 'ignore' });
  server = createServer({ ca: readFileSync(pki.ca), cert: readFileSync(pki.hub.cert), key: readFileSync(pki.hub.key), requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' }, (req, res) => {
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ peer: peer.subjectaltname }));
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
}, 320_000);

afterAll(() => {
  server?.close();
  process.env = saved;
});

function client(env: NodeJS.ProcessEnv): HubClient {
  process.env.SFLEET_PKCS11_ENGINE = engine;
  Object.assign(process.env, env);
  const conn = resolveConnection({ hub: `https://localhost:${port}`, ca: pki.ca, cert: pki.client.cert, key: 'pkcs11:token=card;object=tester;type=private' }, { ...process.env, SFLEET_CONFIG: join(tmpdir(), 'sfleet-no-contexts.yaml') });
  expect(conn.key).toBe('pkcs11:token=card;object=tester;type=private');
  return new HubClient(conn);
}

describe('the CLI with a key on a PKCS#11 token', () => {
  it('connects with the client certificate whose key is on the token (the PIN from SFLEET_PKCS11_PIN)', async () => {
    const answer = await client({ SFLEET_PKCS11_PIN: '1234' }).json<{ peer: string }>('GET', '/api/v1/auth/whoami');
    expect(answer.peer).toContain('spiffe://test.sfleet/user/tester');
  });

  it('a wrong PIN does not connect, and says so', async () => {
    await expect(client({ SFLEET_PKCS11_PIN: '0000' }).json('GET', '/api/v1/auth/whoami')).rejects.toThrow();
  });

  it('a missing engine is a clear error naming the package', () => {
    process.env.SFLEET_PKCS11_ENGINE = '/nonexistent/pkcs11.so';
    expect(() => new HubClient(resolveConnection({ hub: 'https://localhost:1', ca: pki.ca, cert: pki.client.cert, key: 'pkcs11:token=card;object=tester' }, { SFLEET_CONFIG: join(tmpdir(), 'sfleet-no-contexts.yaml') }))).toThrow('install libengine-pkcs11-openssl or set SFLEET_PKCS11_ENGINE');
  });
});
