// verify: an agent stream speaks for one cluster, the one its certificate names: checked on the
// certificate, on the hello, and on every delta (its cluster and each object's).
import type { Delta } from '../../generated/fleet/v1/agent.js';
import { identityFromSubjectAltName, type PeerIdentity } from '../../shared/tls/index.js';
import { NotAnAgentError, WrongClusterError } from './errors.js';

/** The agent a certificate (its subjectAltName) names, or why it is no agent's. */
export function agentIdentity(subjectAltName: string | undefined): PeerIdentity | NotAnAgentError {
  const identity = identityFromSubjectAltName(subjectAltName);
  if (!identity || identity.role !== 'agent' || !identity.cluster) return new NotAnAgentError();
  return identity;
}

/** The hello claims the certificate's cluster. */
export function checkHello(identity: PeerIdentity, claimed: string): WrongClusterError | undefined {
  return claimed === identity.cluster ? undefined : WrongClusterError.inHello(identity.cluster ?? '', claimed);
}

/** The delta and every object it carries belong to the stream's cluster. */
export function checkDelta(cluster: string, delta: Delta): WrongClusterError | undefined {
  if (delta.cluster !== cluster || delta.upserts.some((o) => o.kind && o.kind.value.cluster !== cluster)) return WrongClusterError.inDelta(cluster);
  return undefined;
}
