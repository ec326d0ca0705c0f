// Why the hub ends an agent stream. Agents read `<code>: <message>` and the gRPC status on the
// wire (toGrpcStatus), and deployed agents match on them: codes, statuses and texts stay as they
// are (wire-refusals.test.ts pins them). The HTTP status is FleetError's; agent streams never
// send it.
import { status } from '@grpc/grpc-js';
import { FleetError } from '../../shared/errors/index.js';
import { revocationText, type RevokedCertificate } from '../../shared/tls/index.js';

/** The peer's certificate is not an agent's. */
export class NotAnAgentError extends FleetError {
  constructor() {
    super('SF_INGEST_NOT_AN_AGENT', 'this stream needs an agent certificate (spiffe://<td>/cluster/<c>/agent/<n>)', 403, status.PERMISSION_DENIED);
  }
}

/** The stream's certificate is on the revocation list. */
export class RevokedCertificateError extends FleetError {
  constructor(entry: RevokedCertificate) {
    super('SF_TLS_CERT_REVOKED', revocationText(entry), 401, status.UNAUTHENTICATED);
  }
}

/** The stream did not open with a hello: none came in time, or something else came first. */
export class NoHelloError extends FleetError {
  private constructor(message: string, grpcCode: status, httpStatus: number) {
    super('SF_INGEST_NO_HELLO', message, httpStatus, grpcCode);
  }

  static timedOut(): NoHelloError {
    return new NoHelloError('no hello within the deadline', status.DEADLINE_EXCEEDED, 504);
  }

  static notFirst(): NoHelloError {
    return new NoHelloError('the first message must be a hello', status.FAILED_PRECONDITION, 412);
  }
}

/** An agent spoke for a cluster its certificate is not for: in its hello, or in a delta. */
export class WrongClusterError extends FleetError {
  private constructor(message: string) {
    super('SF_INGEST_WRONG_CLUSTER', message, 403, status.PERMISSION_DENIED);
  }

  static inHello(certCluster: string, claimed: string): WrongClusterError {
    return new WrongClusterError(`this certificate speaks for cluster "${certCluster}", not "${claimed}"`);
  }

  static inDelta(cluster: string): WrongClusterError {
    return new WrongClusterError(`this stream speaks for cluster "${cluster}" only`);
  }
}

/** A newer stream of the same agent took the cluster over (the old one is stale). */
export class SupersededError extends FleetError {
  constructor(agent: string, cluster: string) {
    super('SF_INGEST_SUPERSEDED', `a newer stream of agent ${agent} took over cluster ${cluster}`, 409, status.ABORTED);
  }
}

/** The agent went quiet: for too many heartbeats, or long enough that a live agent replaced it. */
export class AgentSilentError extends FleetError {
  private constructor(message: string) {
    super('SF_INGEST_AGENT_SILENT', message, 503, status.UNAVAILABLE);
  }

  static forBeats(beats: number): AgentSilentError {
    return new AgentSilentError(`no message from the agent for ${beats} heartbeats`);
  }

  static replaced(): AgentSilentError {
    return new AgentSilentError('replaced by a live agent of the same cluster');
  }
}

/** Parts of a snapshot that do not follow each other, or do not count right. */
export class BadSnapshotPartError extends FleetError {
  constructor(message: string) {
    super('SF_INGEST_BAD_SNAPSHOT_PART', message, 400, status.INVALID_ARGUMENT);
  }
}

/** The hub could not make a delta durable or apply it. */
export class ApplyFailedError extends FleetError {
  constructor() {
    super('SF_INGEST_APPLY_FAILED', 'the hub could not store the delta', 500, status.INTERNAL);
  }
}

/** Bytes that are not a fleet.v1 message (truncated, a bad wire type, a length past the end). */
export class MalformedMessageError extends FleetError {
  constructor(what: string, why: string) {
    super('SF_INGEST_MALFORMED_MESSAGE', `not a valid ${what} message: ${why}`, 400, status.INVALID_ARGUMENT);
  }
}
