import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/logging/index.js';
import { initCa, issueCertificate, type TlsFiles } from '../../shared/tls/index.js';
import { CertificateRenewal } from './certificate-renewal.js';

async function shortLivedAgent(): Promise<{ dir: string; files: TlsFiles }> {
  const dir = mkdtempSync(join(tmpdir(), 'renewal-'));
  await initCa(dir, { trustDomain: 'unit.fleet' });
  const out = await issueCertificate(dir, { role: 'agent', name: 'head1', cluster: 'prod-a', lifetimeMs: 10_000 });
  // The agent's own copy: issuing again in the CA directory must not touch it.
  const own = mkdtempSync(join(tmpdir(), 'agent-'));
  const files = { ca: join(dir, 'ca.pem'), cert: join(own, 'agent.pem'), key: join(own, 'agent-key.pem') };
  copyFileSync(out.cert, files.cert);
  copyFileSync(out.key, files.key);
  return { dir, files };
}

describe('agent certificate renewal', () => {
  it('refuses an issued certificate that is not for its own new key and keeps the old files', async () => {
    const { dir, files } = await shortLivedAgent();
    const before = readFileSync(files.cert, 'utf8');
    const renewal = new CertificateRenewal({ files, renewedDir: mkdtempSync(join(tmpdir(), 'renewed-')), renewAt: 0.15 }, { logger: silentLogger() });
    const sent: string[] = [];
    let reconnects = 0;
    renewal.attach({ send: (csr) => sent.push(csr), reconnect: () => reconnects++ });
    const deadline = Date.now() + 10_000;
    while (sent.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(sent[0]).toContain('CERTIFICATE REQUEST');
    expect(sent[0]).not.toContain('PRIVATE KEY');
    // A certificate the CA really signed, for the right identity, but for another key.
    const other = await issueCertificate(dir, { role: 'agent', name: 'head1', cluster: 'prod-a' });
    await renewal.onIssued({ certificate_pem: readFileSync(other.cert, 'utf8'), ca_pem: '', serial: new X509Certificate(readFileSync(other.cert)).serialNumber, not_after: '' });
    expect(renewal.lastRefusal).toMatch(/^SF_TLS_RENEWAL_BAD_CERTIFICATE: the issued certificate is not for the key this agent made/);
    expect(readFileSync(files.cert, 'utf8')).toBe(before);
    expect(reconnects).toBe(0);
    renewal.detach();
  });

  it('retries later when the hub does not answer', async () => {
    const { files } = await shortLivedAgent();
    const renewal = new CertificateRenewal({ files, renewedDir: mkdtempSync(join(tmpdir(), 'renewed-')), renewAt: 0.15, answerTimeoutMs: 200 }, { logger: silentLogger() });
    const sent: string[] = [];
    renewal.attach({ send: (csr) => sent.push(csr), reconnect: () => {} });
    const deadline = Date.now() + 10_000;
    while (!renewal.lastRefusal && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(renewal.lastRefusal).toBe('SF_TLS_RENEWAL_TIMEOUT: the hub did not answer the certificate request in time');
    renewal.detach();
  });
});
