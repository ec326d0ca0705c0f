import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initCa, issueCertificate } from './ca.js';
import { identityFromSubjectAltName } from './identity.js';

describe('fleet CA', () => {
  it('issues certificates whose SPIFFE identity names role, cluster and name, and they handshake over TLS 1.3', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ca-'));
    await initCa(dir, { trustDomain: 'test.fleet' });
    await expect(initCa(dir, { trustDomain: 'test.fleet' })).rejects.toThrow(/already exists/);
    const hub = await issueCertificate(dir, { role: 'hub', name: 'hub1' });
    const agent = await issueCertificate(dir, { role: 'agent', name: 'head1', cluster: 'prod-a' });
    expect(agent.id).toBe('spiffe://test.fleet/cluster/prod-a/agent/head1');
    await expect(issueCertificate(dir, { role: 'agent', name: 'x' })).rejects.toThrow(/needs --cluster/);
    await expect(issueCertificate(dir, { role: 'client', name: 'bad name' })).rejects.toThrow(/invalid name/);

    const ca = readFileSync(join(dir, 'ca.pem'));
    const server = createServer({ ca, cert: readFileSync(hub.cert), key: readFileSync(hub.key), requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' });
    const seen = new Promise<string | undefined>((resolve) => server.on('secureConnection', (s) => resolve(s.getPeerCertificate().subjectaltname)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const client = connect({ host: '127.0.0.1', port, ca, cert: readFileSync(agent.cert), key: readFileSync(agent.key), minVersion: 'TLSv1.3' });
    await new Promise<void>((resolve, reject) => client.on('secureConnect', resolve).on('error', reject));
    expect(client.getProtocol()).toBe('TLSv1.3');
    expect(identityFromSubjectAltName(await seen)).toMatchObject({ role: 'agent', cluster: 'prod-a', name: 'head1' });
    client.end();
    server.close();
  });
});
