import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { caFiles, initCa, issueCertificate, loadCa } from './ca.js';
import { createCertificateRequest, normalizeSerial, signCertificateRequest } from './csr.js';
import { parseSpiffeId } from './identity.js';
import { certificateSerial, readRevocations, revokeCertificate } from './revocation.js';

async function ca(trustDomain = 'test.fleet'): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'ca-'));
  await initCa(dir, { trustDomain });
  return dir;
}

describe('certificate renewal by CSR', () => {
  it('signs a CSR for exactly the identity that asks, with the configured lifetime and a new serial', async () => {
    const dir = await ca();
    const loaded = await loadCa(caFiles(dir).cert, caFiles(dir).key);
    const id = 'spiffe://test.fleet/cluster/prod-a/agent/head1';
    const { csrPem, keyPem } = await createCertificateRequest(id);
    expect(keyPem).toContain('PRIVATE KEY');
    expect(csrPem).not.toContain('PRIVATE KEY');
    const cert = await signCertificateRequest(loaded, csrPem, parseSpiffeId(id)!, 20_000);
    const node = new X509Certificate(cert.toString('pem'));
    expect(node.subjectAltName).toBe(`URI:${id}`);
    expect(node.verify(new X509Certificate(readFileSync(caFiles(dir).cert)).publicKey)).toBe(true);
    const lifetime = Date.parse(node.validTo) - Date.now();
    expect(lifetime).toBeGreaterThan(15_000);
    expect(lifetime).toBeLessThanOrEqual(20_000);
  });

  it('refuses a CSR naming another agent, another cluster, or nothing, and garbage', async () => {
    const dir = await ca();
    const loaded = await loadCa(caFiles(dir).cert, caFiles(dir).key);
    const me = parseSpiffeId('spiffe://test.fleet/cluster/prod-a/agent/head1')!;
    for (const other of ['spiffe://test.fleet/cluster/prod-b/agent/head1', 'spiffe://test.fleet/cluster/prod-a/agent/head2', 'spiffe://test.fleet/user/admin']) {
      const { csrPem } = await createCertificateRequest(other);
      await expect(signCertificateRequest(loaded, csrPem, me, 60_000)).rejects.toMatchObject({ code: 'SF_TLS_CSR_WRONG_IDENTITY', message: expect.stringContaining('may only renew its own') });
    }
    await expect(signCertificateRequest(loaded, 'not a csr', me, 60_000)).rejects.toMatchObject({ code: 'SF_TLS_CSR_INVALID' });
  });

  it('refuses a CA key that does not belong to the CA certificate', async () => {
    const a = await ca();
    const b = await ca();
    await expect(loadCa(caFiles(a).cert, caFiles(b).key)).rejects.toThrow(/does not belong to the CA certificate/);
    await expect(loadCa(caFiles(a).cert, join(a, 'absent.pem'))).rejects.toThrow(/cannot read the CA key .*ENOENT/);
  });

  it('issues short-lived certificates on request', async () => {
    const dir = await ca();
    const out = await issueCertificate(dir, { role: 'agent', name: 'head1', cluster: 'prod-a', lifetimeMs: 20_000 });
    const cert = new X509Certificate(readFileSync(out.cert));
    expect(Date.parse(cert.validTo) - Date.parse(cert.validFrom)).toBeLessThan(25_000);
  });
});

describe('revocation list', () => {
  it('records serials from a certificate file or hex, once, in any hex spelling', async () => {
    const dir = await ca();
    const out = await issueCertificate(dir, { role: 'client', name: 'alice' });
    const path = join(dir, 'revoked.json');
    expect(readRevocations(path).size).toBe(0);
    const { serial, subject } = certificateSerial(out.cert);
    expect(subject).toBe('spiffe://test.fleet/user/alice');
    expect(revokeCertificate(path, { serial, reason: 'laptop lost', subject }).added).toBe(true);
    expect(revokeCertificate(path, { serial: serial.toUpperCase() }).added).toBe(false);
    const nodeSerial = new X509Certificate(readFileSync(out.cert)).serialNumber;
    expect(readRevocations(path).get(normalizeSerial(nodeSerial))).toMatchObject({ reason: 'laptop lost', subject });
    expect(normalizeSerial('00:0A:bc')).toBe('abc');
  });

  it('names the file and the entry when the list is malformed', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'rev-')), 'revoked.json');
    writeFileSync(path, '{"revoked": [{"serial": "xyz"}]}');
    expect(() => readRevocations(path)).toThrow(/revoked\.json: revoked\[0\]\.serial: expected a hex serial number/);
    writeFileSync(path, '{oops');
    expect(() => readRevocations(path)).toThrow(/revoked\.json: not JSON/);
    expect(() => revokeCertificate(path, { serial: 'not-hex' })).toThrow(/not a hex serial/);
    expect(() => revokeCertificate(join(path, 'nowhere', 'revoked.json'), { serial: 'abc' })).toThrow(/no hub data directory .*nowhere: check --data-dir/);
  });
});
