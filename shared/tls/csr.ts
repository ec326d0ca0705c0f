// Certificate renewal: the agent makes a key pair and a PKCS#10 request for its own identity;
// the hub signs it only when the request names exactly the identity the stream authenticated.
// Before @peculiar/x509, whose tsyringe needs the Reflect metadata API when it loads: an agent
// loads this file alone (its binary's certificate-renewal part), not after ca.ts.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { FleetError } from '../errors/index.js';
import { generateKeyPair, KEY_ALGORITHM, signLeaf, type LoadedCa } from './ca.js';
import { parseSpiffeId, type PeerIdentity } from './identity.js';

/** A renewal the hub refuses; the code travels to the agent in CertificateRefused. */
export class CertificateRequestError extends FleetError {
  constructor(code: 'SF_TLS_CSR_INVALID' | 'SF_TLS_CSR_WRONG_IDENTITY' | 'SF_TLS_RENEWAL_DISABLED' | 'SF_TLS_CERT_REVOKED', message: string) {
    super(code, message, code === 'SF_TLS_CSR_INVALID' ? 400 : 403, code === 'SF_TLS_CSR_INVALID' ? GrpcStatus.INVALID_ARGUMENT : GrpcStatus.PERMISSION_DENIED);
  }
}

/** A new key pair and a CSR for `id` (a SPIFFE URI). The key PEM stays with the caller. */
export async function createCertificateRequest(id: string): Promise<{ csrPem: string; keyPem: string }> {
  const identity = parseSpiffeId(id);
  if (!identity) throw new CertificateRequestError('SF_TLS_CSR_INVALID', `"${id}" is not an sfleet SPIFFE identity`);
  const { keys, keyPem } = await generateKeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${identity.name}, O=slurmfleet, OU=${identity.role}`,
    keys,
    signingAlgorithm: KEY_ALGORITHM,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: id }])],
  });
  return { csrPem: csr.toString('pem') + '\n', keyPem };
}

/** The SPIFFE URI a certificate (or CSR) names in its SAN, if exactly one. */
function uriSans(ext: x509.SubjectAlternativeNameExtension | null): string[] {
  return ext?.names.items.filter((n) => n.type === 'url').map((n) => n.value) ?? [];
}

/**
 * Signs `csrPem` for `identity` (what the stream's certificate proved). Refuses a request that
 * is malformed, not self-signed by its key, not ECDSA P-256, or names any other identity.
 */
export async function signCertificateRequest(ca: LoadedCa, csrPem: string, identity: PeerIdentity, lifetimeMs: number): Promise<x509.X509Certificate> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (err) {
    throw new CertificateRequestError('SF_TLS_CSR_INVALID', `not a PEM PKCS#10 certificate request: ${(err as Error).message}`);
  }
  let publicKey: webcrypto.CryptoKey;
  try {
    publicKey = await csr.publicKey.export(KEY_ALGORITHM, ['verify']);
  } catch {
    throw new CertificateRequestError('SF_TLS_CSR_INVALID', 'the request key must be ECDSA P-256');
  }
  if (!(await csr.verify())) throw new CertificateRequestError('SF_TLS_CSR_INVALID', 'the request is not signed by its own key');
  const uris = uriSans(csr.extensions.find((e): e is x509.SubjectAlternativeNameExtension => e instanceof x509.SubjectAlternativeNameExtension) ?? null);
  if (uris.length !== 1 || uris[0] !== identity.id) {
    throw new CertificateRequestError(
      'SF_TLS_CSR_WRONG_IDENTITY',
      `an agent may only renew its own certificate: the stream is ${identity.id}, the request names ${uris.join(', ') || 'no identity'}`,
    );
  }
  if (identity.trustDomain !== ca.trustDomain) {
    throw new CertificateRequestError('SF_TLS_CSR_WRONG_IDENTITY', `identity ${identity.id} is not in this CA's trust domain ${ca.trustDomain}`);
  }
  return signLeaf(ca, { role: identity.role, name: identity.name, cluster: identity.cluster, lifetimeMs, publicKey });
}

/** Node's serialNumber ("0A1B...") and ours ("0a1b...") compare equal this way. */
export function normalizeSerial(serial: string): string {
  return serial.trim().toLowerCase().replace(/:/g, '').replace(/^0+(?=.)/, '');
}
