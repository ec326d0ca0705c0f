// What every TLS endpoint of the fleet negotiates: TLS 1.3 only, and optionally a narrower set of
// TLS 1.3 suites (security.encryption.tls.cipher_suites). One function builds the options so the
// hub's listeners, the agent, federation, LDAP and Vault clients cannot drift apart.
export const MIN_TLS_VERSION = 'TLSv1.3' as const;

/** The TLS 1.3 suites OpenSSL 3 offers (RFC 8446 names); Node takes them in `ciphers`. */
export const TLS13_SUITES = ['TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_128_GCM_SHA256', 'TLS_AES_128_CCM_SHA256', 'TLS_AES_128_CCM_8_SHA256'] as const;
export type Tls13Suite = (typeof TLS13_SUITES)[number];

export interface TlsPolicy {
  /** Empty or absent: OpenSSL's default TLS 1.3 suites. */
  cipherSuites?: readonly string[];
}

export interface TlsVersionOptions {
  minVersion: typeof MIN_TLS_VERSION;
  ciphers?: string;
}

/** minVersion (and ciphers when the policy narrows them): spread into every TLS option object. */
export function tlsVersionOptions(policy?: TlsPolicy): TlsVersionOptions {
  const suites = policy?.cipherSuites ?? [];
  // A TLS 1.3-only list leaves TLS 1.2 without ciphers, which is what TLS 1.3 only means anyway.
  return suites.length ? { minVersion: MIN_TLS_VERSION, ciphers: suites.join(':') } : { minVersion: MIN_TLS_VERSION };
}
