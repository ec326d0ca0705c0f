// Bounded before trusted, on gRPC. grpc-js buffers a whole message (up to the server's
// max_receive_message_length) before a handler runs, so a caller the gate would refuse could make
// the hub hold that much per call. This interceptor runs the gate on the call's metadata and
// certificate and holds every read until it passes: a refused caller (no role, a revoked
// certificate, a client certificate on the agent stream, an agent certificate on the API) is
// audited and answered before one byte of its message is decoded. A passed caller's messages are
// bounded per service: the agent stream at `agentMessageBytes`, FleetService requests at
// `apiMessageBytes` (the call's own decoder limit, so an oversized request is refused on its
// 5-byte length prefix, not after it arrived), and no string field of a FleetService request
// may be longer than `apiStringBytes` (short-strings.ts).
import {
  Metadata,
  ServerInterceptingCall,
  ServerListenerBuilder,
  status as GrpcStatus,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  type ServerMethodDefinition,
} from '@grpc/grpc-js';
import type { FleetError } from '../../../shared/errors/index.js';
import { toGrpcStatus } from '../../../shared/errors/index.js';
import { agentRefusalEvent, grpcRefusalEvent, type AuditLog } from '../../audit/index.js';
import { agentIdentity } from '../../ingest/index.js';
import { Visibility, type Authenticator, type Principal, type Rbac } from '../../policy/index.js';
import { GRPC_PERMISSIONS } from './fleet-service.js';
import { longStringField } from './short-strings.js';

export const AGENT_CONNECT_PATH = '/fleet.v1.AgentService/Connect';
const FLEET_SERVICE_PREFIX = '/fleet.v1.FleetService/';

export interface PreReadGateDeps {
  authenticator: Authenticator;
  rbac: Rbac;
  /** Why an agent certificate serial may not stream (revoked), or undefined. */
  admitAgent: (serial: string | undefined) => FleetError | undefined;
  audit?: Pick<AuditLog, 'record'>;
  /** Largest agent-stream message (bytes). */
  agentMessageBytes: number;
  /** Largest FleetService request (bytes). */
  apiMessageBytes: number;
  /** Longest string field of a FleetService request (UTF-8 bytes). */
  apiStringBytes: number;
}

type Decision = { ok: true; principal?: Principal } | { ok: false; code: GrpcStatus; details: string };
type Peer = { subjectaltname?: string; serialNumber?: string };

/** A call whose reads wait for the gate's decision; a refused call never reads. */
class GatedCall extends ServerInterceptingCall {
  private decided = false;
  private readWanted = false;
  private allowed = false;

  decide(ok: boolean): void {
    this.decided = true;
    this.allowed = ok;
    if (ok && this.readWanted) super.startRead();
  }

  override startRead(): void {
    if (this.decided) {
      if (this.allowed) super.startRead();
      return;
    }
    this.readWanted = true;
  }
}

/** Sets the call's own decoder limit when grpc-js exposes it (pre-read-gate.test.ts pins that it does). */
export function limitCallMessages(call: ServerInterceptingCallInterface, bytes: number): boolean {
  const base = call as unknown as { decoder?: { maxReadMessageLength?: number }; maxReceiveMessageSize?: number };
  if (!base.decoder || typeof base.decoder.maxReadMessageLength !== 'number') return false;
  base.decoder.maxReadMessageLength = bytes;
  base.maxReceiveMessageSize = bytes;
  return true;
}

export function preReadGate(deps: PreReadGateDeps): ServerInterceptor {
  return (method: ServerMethodDefinition<unknown, unknown>, call: ServerInterceptingCallInterface) => {
    const path = method.path;
    const agentPath = path === AGENT_CONNECT_PATH;
    limitCallMessages(call, agentPath ? deps.agentMessageBytes : deps.apiMessageBytes);
    // start() runs once the handler starts the call, after listener below exists.
    const gated: GatedCall = new GatedCall(call, { start: (next) => next(listener) });
    let passed: { principal?: Principal; metadata: Metadata } | undefined;
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((metadata: Metadata, next: (m: Metadata) => void) => {
        const peer = (call.getAuthContext()?.sslPeerCertificate ?? {}) as Peer;
        const decision = agentPath ? checkAgent(deps, call, peer) : checkApi(deps, call, path, peer, metadata);
        void decision.then((d) => {
          if (d.ok) {
            passed = { ...(d.principal ? { principal: d.principal } : {}), metadata };
            gated.decide(true);
            next(metadata);
            return;
          }
          gated.decide(false);
          gated.sendStatus({ code: d.code, details: d.details });
        });
      })
      .withOnReceiveMessage((message: unknown, next: (m: unknown) => void) => {
        const field = agentPath ? undefined : longStringField(message, deps.apiStringBytes);
        if (!field) return next(message);
        // Recorded as the audit policy says (a failed read: only at a level above None).
        const details = `SF_API_BAD_REQUEST: the request field ${field.slice(0, 64)} is longer than ${deps.apiStringBytes} bytes (limits.api_string)`;
        const name = methodName(path);
        void deps.audit
          ?.record(grpcRefusalEvent(name, call.getPeer(), passed?.principal, GrpcStatus.INVALID_ARGUMENT, details, passed?.metadata.get('x-request-id')[0]))
          .catch(() => undefined);
        gated.sendStatus({ code: GrpcStatus.INVALID_ARGUMENT, details });
      })
      .build();
    return gated;
  };
}

async function checkAgent(deps: PreReadGateDeps, call: ServerInterceptingCallInterface, peer: Peer): Promise<Decision> {
  const identity = agentIdentity(peer.subjectaltname);
  const err = identity instanceof Error ? identity : deps.admitAgent(peer.serialNumber);
  if (!err) return { ok: true };
  const { code, details } = toGrpcStatus(err);
  const known = identity instanceof Error ? undefined : identity;
  await deps.audit?.record(agentRefusalEvent({ peer: call.getPeer(), identity: known, details })).catch(() => undefined);
  return { ok: false, code, details };
}

async function checkApi(deps: PreReadGateDeps, call: ServerInterceptingCallInterface, path: string, peer: Peer, metadata: Metadata): Promise<Decision> {
  const name = methodName(path);
  let principal: Principal | undefined;
  try {
    if (!Object.hasOwn(GRPC_PERMISSIONS, name)) return { ok: true }; // grpc-js answers UNIMPLEMENTED itself
    const auth = metadata.get('authorization')[0];
    principal = await deps.authenticator.authenticate({
      authorization: typeof auth === 'string' ? auth : undefined,
      peerSubjectAltName: peer.subjectaltname ?? '',
      peerCertificateSerial: peer.serialNumber,
    });
    new Visibility(deps.rbac, principal).authorize(GRPC_PERMISSIONS[name]);
    return { ok: true, principal };
  } catch (err) {
    const { code, details } = toGrpcStatus(err);
    await deps.audit?.record(grpcRefusalEvent(name, call.getPeer(), principal, code, details, metadata.get('x-request-id')[0])).catch(() => undefined);
    return { ok: false, code, details };
  }
}

/** "/fleet.v1.FleetService/RunCommand" -> "runCommand" (the key of GRPC_PERMISSIONS). */
function methodName(path: string): keyof typeof GRPC_PERMISSIONS {
  const method = path.startsWith(FLEET_SERVICE_PREFIX) ? path.slice(FLEET_SERVICE_PREFIX.length) : '';
  return (method.charAt(0).toLowerCase() + method.slice(1)) as keyof typeof GRPC_PERMISSIONS;
}
