// The agent stream's refusals (a certificate that is not an agent's, an agent speaking for
// another cluster) are failed authentications of a sort: recorded before the stream is closed.
import type { AuditEvent } from './record.js';

export function agentRefusalEvent(opts: { peer: string; identity?: { name?: string; cluster?: string; role?: string }; claimedCluster?: string; details: string }): AuditEvent {
  const cluster = opts.claimedCluster || opts.identity?.cluster;
  return {
    action: 'agent:connect',
    resource: cluster ? `cluster ${cluster}` : 'agent stream',
    outcome: 'denied',
    status: 403,
    reason: opts.details,
    user: opts.identity?.name ? `${opts.identity.role ?? 'peer'}:${opts.identity.name}` : null,
    auth_method: 'mtls',
    source_ip: opts.peer.replace(/^ipv[46]:/, '').replace(/:\d+$/, '').replace(/^\[|\]$/g, ''),
    tenant: cluster ? { cluster } : null,
    transport: 'agent',
    required: true,
  };
}
