import { status } from '@grpc/grpc-js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toGrpcStatus, type FleetError } from '../../shared/errors/index.js';
import { silentLogger } from '../../shared/logging/index.js';
import { caFiles, createCertificateRequest, initCa, loadCa, parseSpiffeId } from '../../shared/tls/index.js';
import { hubConfigSchema } from '../config/index.js';
import { AgentCertificates } from './certificate-renewal.js';

const id = 'spiffe://unit.fleet/cluster/prod-a/agent/head1';

async function setup(revoked: Set<string>): Promise<AgentCertificates> {
  const dir = mkdtempSync(join(tmpdir(), 'ca-'));
  await initCa(dir, { trustDomain: 'unit.fleet' });
  return new AgentCertificates({
    logger: silentLogger(),
    revoked: (serial) => (serial && revoked.has(serial) ? { serial, revoked_at: '2026-11-01T00:00:00.000Z', reason: 'test' } : undefined),
    ca: await loadCa(caFiles(dir).cert, caFiles(dir).key),
    lifetimeMs: 60_000,
  });
}

describe('agent certificates at the hub', () => {
  it('renews a live certificate and refuses to renew a revoked one', async () => {
    const revoked = new Set<string>();
    const certificates = await setup(revoked);
    const { csrPem } = await createCertificateRequest(id);
    expect((await certificates.renew(parseSpiffeId(id)!, 'aa01', csrPem)).body?.$case).toBe('certificate_issued');
    revoked.add('aa01');
    expect((await certificates.renew(parseSpiffeId(id)!, 'aa01', csrPem)).body).toMatchObject({ $case: 'certificate_refused', value: { code: 'SF_TLS_CERT_REVOKED' } });
  });

  it('ends exactly the open streams whose certificate was revoked', async () => {
    const revoked = new Set<string>();
    const certificates = await setup(revoked);
    const ended: string[] = [];
    const wire = (err: FleetError) => toGrpcStatus(err);
    certificates.attach('aa01', (err) => ended.push(`a ${wire(err).code} ${wire(err).details}`));
    certificates.attach('bb02', (err) => ended.push(`b ${wire(err).code}`));
    const detach = certificates.attach('cc03', (err) => ended.push(`c ${wire(err).code}`));
    detach();
    revoked.add('aa01').add('cc03');
    certificates.endRevoked();
    expect(ended).toEqual([`a ${status.UNAUTHENTICATED} SF_TLS_CERT_REVOKED: certificate aa01 was revoked at 2026-11-01T00:00:00.000Z (test)`]);
    expect(certificates.admit('aa01')).toMatchObject({ code: 'SF_TLS_CERT_REVOKED', message: expect.stringMatching(/revoked/) });
    expect(certificates.admit('bb02')).toBeUndefined();
  });

  it('refuses renewal plainly when the hub has no CA key', async () => {
    const certificates = new AgentCertificates({ logger: silentLogger(), revoked: () => undefined, lifetimeMs: 60_000 });
    const { csrPem } = await createCertificateRequest(id);
    expect((await certificates.renew(parseSpiffeId(id)!, 'aa01', csrPem)).body).toMatchObject({ $case: 'certificate_refused', value: { code: 'SF_TLS_RENEWAL_DISABLED', message: expect.stringContaining('tls.ca_key') } });
  });

  it('reads tls.ca_key and tls.issued_lifetime, refusing too short lifetimes and unknown keys', () => {
    const tls = { ca: 'ca.pem', cert: 'hub.pem', key: 'hub-key.pem' };
    expect(hubConfigSchema.parse({ tls }).tls).toMatchObject({ issued_lifetime: 30 * 86_400_000 });
    expect(hubConfigSchema.parse({ tls: { ...tls, ca_key: 'ca-key.pem', issued_lifetime: '12h' } }).tls).toMatchObject({ ca_key: 'ca-key.pem', issued_lifetime: 12 * 3_600_000 });
    expect(hubConfigSchema.safeParse({ tls: { ...tls, issued_lifetime: '5s' } }).error?.issues[0]).toMatchObject({ path: ['tls', 'issued_lifetime'], message: 'at least 10s' });
    expect(hubConfigSchema.safeParse({ tls: { ...tls, ca_kye: 'x' } }).success).toBe(false);
  });
});
