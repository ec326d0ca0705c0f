// Who is on the other end of a TLS connection, read from the SPIFFE URI SAN of a
// certificate the fleet CA issued:
//   spiffe://<td>/cluster/<cluster>/agent/<name>   an agent, speaking for <cluster> only
//   spiffe://<td>/hub/<name>                       a hub instance
//   spiffe://<td>/user/<name>                      a person or tool using the API
export type Role = 'agent' | 'hub' | 'client';

export interface PeerIdentity {
  role: Role;
  name: string;
  cluster?: string;
  trustDomain: string;
  id: string;
}

export function spiffeId(trustDomain: string, role: Role, name: string, cluster?: string): string {
  switch (role) {
    case 'agent':
      return `spiffe://${trustDomain}/cluster/${cluster}/agent/${name}`;
    case 'hub':
      return `spiffe://${trustDomain}/hub/${name}`;
    case 'client':
      return `spiffe://${trustDomain}/user/${name}`;
  }
}

export function parseSpiffeId(uri: string): PeerIdentity | undefined {
  const m = /^spiffe:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!m) return undefined;
  const [, trustDomain, path] = m;
  const parts = path.split('/');
  if (parts.length === 4 && parts[0] === 'cluster' && parts[2] === 'agent') {
    return { role: 'agent', cluster: parts[1], name: parts[3], trustDomain, id: uri };
  }
  if (parts.length === 2 && parts[0] === 'hub') return { role: 'hub', name: parts[1], trustDomain, id: uri };
  if (parts.length === 2 && parts[0] === 'user') return { role: 'client', name: parts[1], trustDomain, id: uri };
  return undefined;
}

/** Node's `subjectaltname` string ("URI:spiffe://..., DNS:localhost") to an identity. */
export function identityFromSubjectAltName(subjectaltname: string | undefined): PeerIdentity | undefined {
  if (!subjectaltname) return undefined;
  for (const entry of subjectaltname.split(/,\s*/)) {
    if (entry.startsWith('URI:')) {
      const identity = parseSpiffeId(entry.slice(4));
      if (identity) return identity;
    }
  }
  return undefined;
}
