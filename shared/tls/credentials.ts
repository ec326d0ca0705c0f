// TLS material for every listener and client: TLS 1.3 only, the fleet CA as the only trust.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { ChannelCredentials, ServerCredentials } from '@grpc/grpc-js';
import type { SecureServerOptions } from 'node:http2';
import { ConfigError } from '../errors/index.js';
import { tlsVersionOptions, type TlsPolicy } from './policy.js';

export { MIN_TLS_VERSION } from './policy.js';

export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

export interface TlsMaterial {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  /** The TLS 1.3 suites this endpoint allows (security.encryption.tls); travels with the files. */
  policy?: TlsPolicy;
}

/** The version floor and suites of a material, to spread into Node's TLS options. */
export function tlsOptionsOf(material: Pick<TlsMaterial, 'policy'>): ReturnType<typeof tlsVersionOptions> {
  return tlsVersionOptions(material.policy);
}

export function loadTls(files: TlsFiles, what: string, policy?: TlsPolicy): TlsMaterial {
  const read = (path: string, field: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new ConfigError(`${what}: cannot read tls.${field} "${path}": ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  };
  const material: TlsMaterial = { ca: read(files.ca, 'ca'), cert: read(files.cert, 'cert'), key: read(files.key, 'key'), ...(policy ? { policy } : {}) };
  try {
    createSecureContext({ ca: material.ca, cert: material.cert, key: material.key, ...tlsOptionsOf(material) });
  } catch (err) {
    throw new ConfigError(`${what}: tls.cert/tls.key do not form a usable pair: ${(err as Error).message}`);
  }
  return material;
}

/** grpc-js server credentials that demand a client certificate of our CA over TLS 1.3. */
class MutualTls13ServerCredentials extends ServerCredentials {
  constructor(material: TlsMaterial) {
    const constructorOptions: SecureServerOptions = {
      requestCert: true,
      rejectUnauthorized: true,
      ...tlsOptionsOf(material),
    };
    const contextOptions: SecureContextOptions = { ca: material.ca, cert: material.cert, key: material.key };
    super(constructorOptions, contextOptions);
  }

  /** New connections use the new files; open ones continue. */
  reload(material: TlsMaterial): void {
    // Node's setSecureContext resets every option it is not given: minVersion must come again.
    this.updateSecureContextOptions({ ca: material.ca, cert: material.cert, key: material.key, ...tlsOptionsOf(material) });
  }

  _equals(other: ServerCredentials): boolean {
    return other === this;
  }
}

/** Server credentials whose certificate can be replaced while the server runs. */
export type ReloadableServerCredentials = ServerCredentials & { reload(material: TlsMaterial): void };

export function grpcServerCredentials(material: TlsMaterial): ReloadableServerCredentials {
  return new MutualTls13ServerCredentials(material);
}

export function grpcClientCredentials(material: TlsMaterial): ChannelCredentials {
  return withoutIpServername(
    ChannelCredentials.createFromSecureContext(createSecureContext({ ca: material.ca, cert: material.cert, key: material.key, ...tlsOptionsOf(material) })),
  );
}

/** The part of grpc-js's (internal) secure connector this file touches. */
interface SecureConnectorLike {
  connectionOptions?: { servername?: string };
}

/**
 * grpc-js sends the target host as the TLS server name, also when it is an IP address, which
 * RFC 6066 forbids and Node answers with a DEP0123 warning on every agent and hub whose endpoint
 * is an IP. Without a server name, Node checks the certificate against the host (the same IP),
 * so only the SNI extension goes. grpc-js has no option for it: its connector is adjusted here;
 * test/small-things.test.ts fails if a grpc-js update stops this from working.
 */
export function withoutIpServername(creds: ChannelCredentials): ChannelCredentials {
  const internal = creds as unknown as { _createSecureConnector?: (...args: unknown[]) => SecureConnectorLike };
  const create = internal._createSecureConnector?.bind(creds);
  if (!create) return creds;
  internal._createSecureConnector = (...args: unknown[]) => {
    const connector = create(...args);
    const options = connector.connectionOptions;
    if (options?.servername && isIP(options.servername)) delete options.servername;
    return connector;
  };
  return creds;
}
